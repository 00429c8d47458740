#include "control/sqlite_store.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "control/secret.hpp"
#include "control/sqlite_schema.hpp"
#include "crypto/key_encoding.hpp"
#include "crypto/random.hpp"

namespace tern::control {
namespace {

constexpr const char* kPeerColumns =
    "id, public_key, name, number, ipv4, ipv6, endpoints, tags, setup_key_id, created_unix, "
    "last_seen_unix";
constexpr const char* kKeyColumns =
    "id, name, lookup, hash, reusable, usage_limit, used, expires_unix, revoked, tags, "
    "created_unix";

std::string endpoints_text(const std::vector<Endpoint>& eps) {
  std::string out;
  for (const auto& e : eps) {
    if (!out.empty()) out += ' ';
    out += e.to_string();
  }
  return out;
}

std::vector<Endpoint> endpoints_from(std::string_view text) {
  std::vector<Endpoint> out;
  while (!text.empty()) {
    const size_t sp = text.find(' ');
    if (auto e = Endpoint::parse(text.substr(0, sp))) out.push_back(*e);
    if (sp == std::string_view::npos) break;
    text.remove_prefix(sp + 1);
  }
  return out;
}

std::vector<std::string> tags_from(std::string_view text) {
  auto t = parse_tags(text);
  return t ? *t : std::vector<std::string>{};
}

PeerRecord peer_from(const Statement& s) {
  PeerRecord p;
  p.id = s.int64(0);
  const auto key = s.blob(1);
  if (key.size() == p.public_key.size()) std::copy(key.begin(), key.end(), p.public_key.begin());
  p.name = s.text(2);
  p.number = static_cast<uint32_t>(s.int64(3));
  p.ipv4 = IpAddress::parse(s.text(4)).value_or(IpAddress());
  p.ipv6 = IpAddress::parse(s.text(5)).value_or(IpAddress());
  p.endpoints = endpoints_from(s.text(6));
  p.tags = tags_from(s.text(7));
  p.setup_key_id = s.int64(8);
  p.created_unix = s.int64(9);
  p.last_seen_unix = s.int64(10);
  return p;
}

SetupKeyRecord key_from(const Statement& s) {
  SetupKeyRecord k;
  k.id = s.int64(0);
  k.name = s.text(1);
  k.lookup = s.text(2);
  const auto hash = s.blob(3);
  if (hash.size() == k.hash.size()) std::copy(hash.begin(), hash.end(), k.hash.begin());
  k.reusable = s.int64(4) != 0;
  k.usage_limit = static_cast<uint32_t>(s.int64(5));
  k.used = static_cast<uint32_t>(s.int64(6));
  k.expires_unix = s.int64_or_null(7);
  k.revoked = s.int64(8) != 0;
  k.tags = tags_from(s.text(9));
  k.created_unix = s.int64(10);
  return k;
}

template <class T>
tl::unexpected<Error> pass(const Result<T>& r) {
  return tl::unexpected(r.error());
}

Status make_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail("cannot create the data directory " + dir + ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace

int SqliteStore::schema_version() {
  return static_cast<int>(kSchemaMigrations.size());
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& dir,
                                                       const StoreOptions& options) {
  if (auto st = make_dir(dir); !st) return pass(st);
  auto db = SqliteDb::open(dir + "/" + kFileName);
  if (!db) return pass(db);
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(*db)));
  if (auto st = store->migrate(); !st) return pass(st);
  if (auto st = store->load_plan(options); !st) return pass(st);
  return store;
}

Status SqliteStore::migrate() {
  auto tx = Transaction::begin(db_);
  if (!tx) return pass(tx);
  if (auto st = db_.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                         "version INTEGER PRIMARY KEY, applied TEXT NOT NULL "
                         "DEFAULT CURRENT_TIMESTAMP)");
      !st) {
    return st;
  }
  auto q = db_.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!q) return pass(q);
  if (auto r = q->step(); !r) return pass(r);
  const int64_t have = q->int64(0);
  if (have > schema_version()) {
    return fail("the database has schema version " + std::to_string(have) +
                ", newer than this tern knows (" + std::to_string(schema_version()) +
                "): upgrade tern");
  }
  for (int64_t v = have + 1; v <= schema_version(); ++v) {
    if (auto st = db_.exec(kSchemaMigrations[static_cast<size_t>(v - 1)]); !st) return st;
    auto ins = db_.prepare("INSERT INTO schema_migrations (version) VALUES (?)");
    if (!ins) return pass(ins);
    if (auto st = ins->bind(1, v).run(); !st) return st;
  }
  return tx->commit();
}

Status SqliteStore::load_plan(const StoreOptions& options) {
  auto tx = Transaction::begin(db_);
  if (!tx) return pass(tx);
  auto v4 = setting("v4_pool");
  if (!v4) return pass(v4);
  auto v6 = setting("v6_pool");
  if (!v6) return pass(v6);
  if (!*v4) {
    const IpPrefix pool = options.v4_pool.value_or(*parse_v4_pool(kDefaultV4Prefix));
    std::array<uint8_t, 5> global_id{};
    crypto::random_bytes(global_id);
    const IpPrefix ula = ula48(global_id);
    if (auto st = set_setting("v4_pool", pool.to_string()); !st) return st;
    if (auto st = set_setting("v6_pool", ula.to_string()); !st) return st;
    *v4 = pool.to_string();
    *v6 = ula.to_string();
  }
  auto p4 = IpPrefix::parse(**v4);
  auto p6 = v6->has_value() ? IpPrefix::parse(**v6) : std::nullopt;
  if (!p4 || !p6) return fail("the database's address plan is unreadable");
  if (options.v4_pool && *options.v4_pool != *p4) {
    return fail("this network's IPv4 pool is " + p4->to_string() +
                "; it cannot change once addresses are given out");
  }
  plan_ = AddressPlan{*p4, *p6};
  return tx->commit();
}

Status SqliteStore::bump_revision() {
  auto q = db_.prepare(
      "UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) "
      "WHERE name = 'revision'");
  if (!q) return pass(q);
  return q->run();
}

Result<int64_t> SqliteStore::revision() {
  auto v = setting("revision");
  if (!v) return pass(v);
  return *v ? std::stoll(**v) : 0;
}

Result<std::pair<SetupKeyRecord, std::string>> SqliteStore::create_setup_key(
    const NewSetupKey& key, int64_t now_unix, std::string_view actor) {
  SetupKeyRecord r;
  std::string text = generate_secret(kSetupKeyPrefix);
  r.name = key.name;
  r.lookup = secret_lookup(text, kSetupKeyPrefix);
  r.hash = hash_secret(text);
  r.reusable = key.reusable;
  r.usage_limit = key.reusable ? key.usage_limit : 1;
  r.expires_unix = key.expires_unix;
  r.tags = key.tags;
  r.created_unix = now_unix;
  auto tx = Transaction::begin(db_);
  if (!tx) return pass(tx);
  auto q = db_.prepare(
      "INSERT INTO setup_keys (name, lookup, hash, reusable, usage_limit, expires_unix, tags, "
      "created_unix) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!q) return pass(q);
  q->bind(1, r.name).bind(2, r.lookup).bind_blob(3, r.hash).bind(4, int64_t{r.reusable});
  q->bind(5, int64_t{r.usage_limit}).bind(6, r.expires_unix).bind(7, join_tags(r.tags));
  if (auto st = q->bind(8, now_unix).run(); !st) return pass(st);
  r.id = db_.last_insert_id();
  const std::string detail = "id=" + std::to_string(r.id) + " name=" + r.name +
                             (r.reusable ? " reusable" : " one-off") + " tags=" + join_tags(r.tags);
  if (auto st = audit(now_unix, actor, "key.create", detail); !st) return pass(st);
  if (auto st = tx->commit(); !st) return pass(st);
  return std::pair{std::move(r), std::move(text)};
}

Result<std::vector<SetupKeyRecord>> SqliteStore::list_setup_keys() {
  auto q = db_.prepare(std::string("SELECT ") + kKeyColumns + " FROM setup_keys ORDER BY id");
  if (!q) return pass(q);
  std::vector<SetupKeyRecord> out;
  for (;;) {
    auto row = q->step();
    if (!row) return pass(row);
    if (!*row) return out;
    out.push_back(key_from(*q));
  }
}

Result<bool> SqliteStore::revoke_setup_key(int64_t id, int64_t now_unix, std::string_view actor) {
  auto tx = Transaction::begin(db_);
  if (!tx) return pass(tx);
  auto q = db_.prepare("UPDATE setup_keys SET revoked = 1 WHERE id = ?");
  if (!q) return pass(q);
  if (auto st = q->bind(1, id).run(); !st) return pass(st);
  if (db_.changes() == 0) return false;
  if (auto st = audit(now_unix, actor, "key.revoke", "id=" + std::to_string(id)); !st) {
    return pass(st);
  }
  if (auto st = tx->commit(); !st) return pass(st);
  return true;
}

Result<std::optional<SetupKeyRecord>> SqliteStore::find_setup_key(std::string_view lookup) {
  auto q = db_.prepare(std::string("SELECT ") + kKeyColumns + " FROM setup_keys WHERE lookup = ?");
  if (!q) return pass(q);
  auto row = q->bind(1, lookup).step();
  if (!row) return pass(row);
  if (!*row) return std::optional<SetupKeyRecord>();
  return std::optional<SetupKeyRecord>(key_from(*q));
}

Result<Registration> SqliteStore::register_peer(std::string_view setup_key, const PeerHello& hello,
                                                int64_t now_unix) {
  Registration out;
  const std::string lookup = secret_lookup(setup_key, kSetupKeyPrefix);
  if (lookup.empty()) return out;  // kWrong
  auto tx = Transaction::begin(db_);
  if (!tx) return pass(tx);
  auto key = find_setup_key(lookup);
  if (!key) return pass(key);
  if (!*key || !secret_matches((*key)->hash, setup_key)) return out;
  const SetupKeyRecord& k = **key;
  auto existing = find_peer(hello.public_key);
  if (!existing) return pass(existing);
  out.verdict = check_setup_key(k, now_unix);
  // A retry by a machine this key already admitted (its answer was lost) is not a new use.
  if (*existing && (out.verdict == KeyVerdict::kOk ||
                    (out.verdict == KeyVerdict::kUsedUp && (*existing)->setup_key_id == k.id))) {
    out.verdict = KeyVerdict::kOk;
    out.peer = *existing;
    auto token = issue_stream_token((*existing)->id);
    if (!token) return pass(token);
    if (auto st = tx->commit(); !st) return pass(st);
    out.stream_token = std::move(*token);
    return out;
  }
  if (out.verdict != KeyVerdict::kOk) return out;

  auto numbers = db_.prepare("SELECT number FROM peers ORDER BY number");
  if (!numbers) return pass(numbers);
  std::vector<uint32_t> taken;
  for (;;) {
    auto row = numbers->step();
    if (!row) return pass(row);
    if (!*row) break;
    taken.push_back(static_cast<uint32_t>(numbers->int64(0)));
  }
  const auto n = next_number(taken, pool_capacity(plan_.v4));
  if (!n) return fail("the address pool " + plan_.v4.to_string() + " is full");

  PeerRecord p;
  p.public_key = hello.public_key;
  p.name = hello.name;
  p.number = *n;
  p.ipv4 = v4_at(plan_.v4, *n);
  p.ipv6 = v6_at(plan_.v6, *n);
  p.endpoints = hello.endpoints;
  p.tags = k.tags;
  p.setup_key_id = k.id;
  p.created_unix = now_unix;
  p.last_seen_unix = now_unix;
  auto ins = db_.prepare(
      "INSERT INTO peers (public_key, name, number, ipv4, ipv6, endpoints, tags, setup_key_id, "
      "created_unix, last_seen_unix) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins) return pass(ins);
  ins->bind_blob(1, p.public_key).bind(2, p.name).bind(3, int64_t{p.number});
  ins->bind(4, p.ipv4.to_string()).bind(5, p.ipv6.to_string());
  ins->bind(6, endpoints_text(p.endpoints)).bind(7, join_tags(p.tags)).bind(8, k.id);
  if (auto st = ins->bind(9, now_unix).bind(10, now_unix).run(); !st) return pass(st);
  p.id = db_.last_insert_id();
  auto token = issue_stream_token(p.id);
  if (!token) return pass(token);
  out.stream_token = std::move(*token);
  auto use = db_.prepare("UPDATE setup_keys SET used = used + 1 WHERE id = ?");
  if (!use) return pass(use);
  if (auto st = use->bind(1, k.id).run(); !st) return pass(st);
  if (auto st = bump_revision(); !st) return pass(st);
  const std::string detail = "id=" + std::to_string(p.id) +
                             " key=" + crypto::key_to_base64(p.public_key) +
                             " ipv4=" + p.ipv4.to_string() + " setup_key=" + std::to_string(k.id);
  if (auto st = audit(now_unix, "peer", "peer.register", detail); !st) return pass(st);
  if (auto st = tx->commit(); !st) return pass(st);
  out.peer = std::move(p);
  out.created = true;
  return out;
}

Result<std::vector<PeerRecord>> SqliteStore::list_peers() {
  auto q = db_.prepare(std::string("SELECT ") + kPeerColumns + " FROM peers ORDER BY number");
  if (!q) return pass(q);
  std::vector<PeerRecord> out;
  for (;;) {
    auto row = q->step();
    if (!row) return pass(row);
    if (!*row) return out;
    out.push_back(peer_from(*q));
  }
}

Result<std::optional<PeerRecord>> SqliteStore::find_peer(const crypto::Key& key) {
  auto q = db_.prepare(std::string("SELECT ") + kPeerColumns + " FROM peers WHERE public_key = ?");
  if (!q) return pass(q);
  auto row = q->bind_blob(1, key).step();
  if (!row) return pass(row);
  if (!*row) return std::optional<PeerRecord>();
  return std::optional<PeerRecord>(peer_from(*q));
}

Result<std::string> SqliteStore::issue_stream_token(int64_t id) {
  std::string text = generate_secret(kStreamTokenPrefix);
  auto q = db_.prepare("UPDATE peers SET token_lookup = ?, token_hash = ? WHERE id = ?");
  if (!q) return pass(q);
  const auto hash = hash_secret(text);
  if (auto st =
          q->bind(1, secret_lookup(text, kStreamTokenPrefix)).bind_blob(2, hash).bind(3, id).run();
      !st) {
    return pass(st);
  }
  return text;
}

Result<std::optional<PeerRecord>> SqliteStore::find_peer_by_token(std::string_view stream_token) {
  const std::string lookup = secret_lookup(stream_token, kStreamTokenPrefix);
  if (lookup.empty()) return std::optional<PeerRecord>();
  auto q = db_.prepare(std::string("SELECT ") + kPeerColumns +
                       ", token_hash FROM peers WHERE token_lookup = ?");
  if (!q) return pass(q);
  auto row = q->bind(1, lookup).step();
  if (!row) return pass(row);
  if (!*row) return std::optional<PeerRecord>();
  crypto::Sha256Digest stored{};
  const auto hash = q->blob(11);
  if (hash.size() != stored.size()) return std::optional<PeerRecord>();
  std::copy(hash.begin(), hash.end(), stored.begin());
  if (!secret_matches(stored, stream_token)) return std::optional<PeerRecord>();
  return std::optional<PeerRecord>(peer_from(*q));
}

Result<bool> SqliteStore::remove_peer(int64_t id, int64_t now_unix, std::string_view actor) {
  auto tx = Transaction::begin(db_);
  if (!tx) return pass(tx);
  auto q = db_.prepare("DELETE FROM peers WHERE id = ?");
  if (!q) return pass(q);
  if (auto st = q->bind(1, id).run(); !st) return pass(st);
  if (db_.changes() == 0) return false;
  if (auto st = bump_revision(); !st) return pass(st);
  if (auto st = audit(now_unix, actor, "peer.remove", "id=" + std::to_string(id)); !st) {
    return pass(st);
  }
  if (auto st = tx->commit(); !st) return pass(st);
  return true;
}

Status SqliteStore::touch_peer(const crypto::Key& key, const std::vector<Endpoint>& endpoints,
                               int64_t now_unix) {
  auto tx = Transaction::begin(db_);
  if (!tx) return pass(tx);
  const std::string text = endpoints_text(endpoints);
  auto q = db_.prepare(
      "UPDATE peers SET last_seen_unix = ?, endpoints = ? WHERE public_key = ? AND "
      "endpoints != ?");
  if (!q) return pass(q);
  if (auto st = q->bind(1, now_unix).bind(2, text).bind_blob(3, key).bind(4, text).run(); !st) {
    return st;
  }
  if (db_.changes() > 0) {
    // New endpoints change other agents' maps.
    if (auto st = bump_revision(); !st) return st;
  } else {
    auto seen = db_.prepare("UPDATE peers SET last_seen_unix = ? WHERE public_key = ?");
    if (!seen) return pass(seen);
    if (auto st = seen->bind(1, now_unix).bind_blob(2, key).run(); !st) return st;
  }
  return tx->commit();
}

Result<std::vector<PeerRecord>> SqliteStore::expire_peers(int64_t now_unix, int64_t max_unseen_s) {
  auto tx = Transaction::begin(db_);
  if (!tx) return pass(tx);
  auto q = db_.prepare(std::string("SELECT ") + kPeerColumns +
                       " FROM peers WHERE last_seen_unix < ? ORDER BY number");
  if (!q) return pass(q);
  q->bind(1, now_unix - max_unseen_s);
  std::vector<PeerRecord> gone;
  for (;;) {
    auto row = q->step();
    if (!row) return pass(row);
    if (!*row) break;
    gone.push_back(peer_from(*q));
  }
  if (gone.empty()) return gone;
  auto del = db_.prepare("DELETE FROM peers WHERE last_seen_unix < ?");
  if (!del) return pass(del);
  if (auto st = del->bind(1, now_unix - max_unseen_s).run(); !st) return pass(st);
  if (auto st = bump_revision(); !st) return pass(st);
  for (const auto& p : gone) {
    const std::string detail = "id=" + std::to_string(p.id) +
                               " key=" + crypto::key_to_base64(p.public_key) + " unseen since " +
                               std::to_string(p.last_seen_unix);
    if (auto st = audit(now_unix, "server", "peer.expire", detail); !st) return pass(st);
  }
  if (auto st = tx->commit(); !st) return pass(st);
  return gone;
}

Status SqliteStore::audit(int64_t now_unix, std::string_view actor, std::string_view action,
                          std::string_view detail) {
  auto q = db_.prepare("INSERT INTO audit (at_unix, actor, action, detail) VALUES (?, ?, ?, ?)");
  if (!q) return pass(q);
  return q->bind(1, now_unix).bind(2, actor).bind(3, action).bind(4, detail).run();
}

Result<std::vector<AuditEntry>> SqliteStore::list_audit(size_t limit) {
  auto q =
      db_.prepare("SELECT id, at_unix, actor, action, detail FROM audit ORDER BY id DESC LIMIT ?");
  if (!q) return pass(q);
  q->bind(1, static_cast<int64_t>(limit));
  std::vector<AuditEntry> out;
  for (;;) {
    auto row = q->step();
    if (!row) return pass(row);
    if (!*row) return out;
    out.push_back(AuditEntry{q->int64(0), q->int64(1), q->text(2), q->text(3), q->text(4)});
  }
}

Result<std::optional<std::string>> SqliteStore::setting(std::string_view name) {
  auto q = db_.prepare("SELECT value FROM settings WHERE name = ?");
  if (!q) return pass(q);
  auto row = q->bind(1, name).step();
  if (!row) return pass(row);
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(q->text(0));
}

Status SqliteStore::set_setting(std::string_view name, std::string_view value) {
  auto q = db_.prepare(
      "INSERT INTO settings (name, value) VALUES (?, ?) "
      "ON CONFLICT (name) DO UPDATE SET value = excluded.value");
  if (!q) return pass(q);
  return q->bind(1, name).bind(2, value).run();
}

Result<bool> SqliteStore::insert_setting(std::string_view name, std::string_view value) {
  auto q = db_.prepare("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING");
  if (!q) return pass(q);
  if (auto st = q->bind(1, name).bind(2, value).run(); !st) return pass(st);
  return db_.changes() > 0;
}

}  // namespace tern::control
