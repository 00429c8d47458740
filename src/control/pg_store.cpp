#include "control/pg_store.hpp"

#include <algorithm>
#include <array>

#include "control/pg_schema.hpp"
#include "control/secret.hpp"
#include "crypto/key_encoding.hpp"
#include "crypto/random.hpp"

namespace tern::control {
namespace {

// Advisory lock keys (any 64-bit numbers, the same in every instance).
constexpr const char* kSchemaLock = "7310452001";
constexpr const char* kRegisterLock = "7310452002";

constexpr const char* kPeerColumns =
    "id, public_key, name, number, ipv4, ipv6, endpoints, tags, setup_key_id, created_unix, "
    "last_seen_unix";
constexpr const char* kKeyColumns =
    "id, name, lookup, hash, reusable, usage_limit, used, expires_unix, revoked, tags, "
    "created_unix";

// The same text forms as the SQLite store: endpoints space-separated, tags joined.
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

template <size_t N>
void copy_exact(const std::vector<uint8_t>& from, std::array<uint8_t, N>& to) {
  if (from.size() == N) std::copy(from.begin(), from.end(), to.begin());
}

PeerRecord peer_from(const PgResult& r, int row) {
  PeerRecord p;
  p.id = r.int64(row, 0);
  copy_exact(r.bytea(row, 1), p.public_key);
  p.name = r.text(row, 2);
  p.number = static_cast<uint32_t>(r.int64(row, 3));
  p.ipv4 = IpAddress::parse(r.text(row, 4)).value_or(IpAddress());
  p.ipv6 = IpAddress::parse(r.text(row, 5)).value_or(IpAddress());
  p.endpoints = endpoints_from(r.text(row, 6));
  p.tags = tags_from(r.text(row, 7));
  p.setup_key_id = r.int64(row, 8);
  p.created_unix = r.int64(row, 9);
  p.last_seen_unix = r.int64(row, 10);
  return p;
}

SetupKeyRecord key_from(const PgResult& r, int row) {
  SetupKeyRecord k;
  k.id = r.int64(row, 0);
  k.name = r.text(row, 1);
  k.lookup = r.text(row, 2);
  copy_exact(r.bytea(row, 3), k.hash);
  k.reusable = r.boolean(row, 4);
  k.usage_limit = static_cast<uint32_t>(r.int64(row, 5));
  k.used = static_cast<uint32_t>(r.int64(row, 6));
  k.expires_unix = r.int64_or_null(row, 7);
  k.revoked = r.boolean(row, 8);
  k.tags = tags_from(r.text(row, 9));
  k.created_unix = r.int64(row, 10);
  return k;
}

template <class T>
tl::unexpected<Error> pass(const Result<T>& r) {
  return tl::unexpected(r.error());
}

std::string sel(const char* columns, const char* rest) {
  return std::string("SELECT ") + columns + " " + rest;
}

}  // namespace

int PgStore::schema_version() {
  return static_cast<int>(kPgSchemaMigrations.size());
}

Result<std::unique_ptr<PgStore>> PgStore::open(const std::string& url,
                                               const StoreOptions& options) {
  auto conn = PgConn::connect(url);
  if (!conn) return pass(conn);
  std::unique_ptr<PgStore> store(new PgStore(std::move(*conn)));
  if (auto st = store->migrate_and_load_plan(options); !st) return pass(st);
  if (auto st = store->conn_.listen(kChannel); !st) return pass(st);
  return store;
}

Status PgStore::migrate_and_load_plan(const StoreOptions& options) {
  auto tx = PgTransaction::begin(conn_);
  if (!tx) return pass(tx);
  // Instances starting together: one migrates and creates the plan, the others wait.
  if (auto r = conn_.exec("SELECT pg_advisory_xact_lock($1)", {kSchemaLock}); !r) return pass(r);
  if (auto st = conn_.exec_script(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
          "applied TIMESTAMPTZ NOT NULL DEFAULT now())");
      !st) {
    return st;
  }
  auto q = conn_.exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!q) return pass(q);
  const int64_t have = q->int64(0, 0);
  if (have > schema_version()) {
    return fail("the database has schema version " + std::to_string(have) +
                ", newer than this tern knows (" + std::to_string(schema_version()) +
                "): upgrade tern");
  }
  for (int64_t v = have + 1; v <= schema_version(); ++v) {
    if (auto st = conn_.exec_script(kPgSchemaMigrations[static_cast<size_t>(v - 1)]); !st) {
      return st;
    }
    auto ins = conn_.exec("INSERT INTO schema_migrations (version) VALUES ($1)", {pg_int(v)});
    if (!ins) return pass(ins);
  }
  if (auto st = load_plan(options); !st) return st;
  return tx->commit();
}

Status PgStore::load_plan(const StoreOptions& options) {
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
  return {};
}

Status PgStore::notify(std::string_view what) {
  // Delivered at COMMIT, to every listening connection (this one too).
  auto r = conn_.exec("SELECT pg_notify($1, $2)", {kChannel, std::string(what)});
  if (!r) return pass(r);
  return {};
}

Status PgStore::bump_revision() {
  auto r = conn_.exec(
      "WITH r AS (UPDATE settings SET value = (value::bigint + 1)::text WHERE name = 'revision' "
      "RETURNING value) SELECT pg_notify($1, 'revision ' || value) FROM r",
      {kChannel});
  if (!r) return pass(r);
  return {};
}

Result<int64_t> PgStore::revision() {
  auto r = conn_.exec("SELECT value::bigint FROM settings WHERE name = 'revision'");
  if (!r) return pass(r);
  return r->int64(0, 0);
}

Result<std::pair<SetupKeyRecord, std::string>> PgStore::create_setup_key(const NewSetupKey& key,
                                                                         int64_t now_unix,
                                                                         std::string_view actor) {
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
  auto tx = PgTransaction::begin(conn_);
  if (!tx) return pass(tx);
  auto q = conn_.exec(
      "INSERT INTO setup_keys (name, lookup, hash, reusable, usage_limit, expires_unix, tags, "
      "created_unix) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
      {r.name, r.lookup, pg_bytea(r.hash), r.reusable ? "true" : "false", pg_int(r.usage_limit),
       r.expires_unix ? PgParam(pg_int(*r.expires_unix)) : std::nullopt, join_tags(r.tags),
       pg_int(now_unix)});
  if (!q) return pass(q);
  r.id = q->int64(0, 0);
  const std::string detail = "id=" + std::to_string(r.id) + " name=" + r.name +
                             (r.reusable ? " reusable" : " one-off") + " tags=" + join_tags(r.tags);
  if (auto st = audit(now_unix, actor, "key.create", detail); !st) return pass(st);
  if (auto st = notify("keys"); !st) return pass(st);
  if (auto st = tx->commit(); !st) return pass(st);
  return std::pair{std::move(r), std::move(text)};
}

Result<std::vector<SetupKeyRecord>> PgStore::list_setup_keys() {
  auto q = conn_.exec(sel(kKeyColumns, "FROM setup_keys ORDER BY id"));
  if (!q) return pass(q);
  std::vector<SetupKeyRecord> out;
  for (int i = 0; i < q->rows(); ++i)
    out.push_back(key_from(*q, i));
  return out;
}

Result<bool> PgStore::revoke_setup_key(int64_t id, int64_t now_unix, std::string_view actor) {
  auto tx = PgTransaction::begin(conn_);
  if (!tx) return pass(tx);
  auto q = conn_.exec("UPDATE setup_keys SET revoked = TRUE WHERE id = $1", {pg_int(id)});
  if (!q) return pass(q);
  if (q->affected() == 0) return false;
  if (auto st = audit(now_unix, actor, "key.revoke", "id=" + std::to_string(id)); !st) {
    return pass(st);
  }
  if (auto st = notify("keys"); !st) return pass(st);
  if (auto st = tx->commit(); !st) return pass(st);
  return true;
}

Result<std::optional<SetupKeyRecord>> PgStore::find_setup_key(std::string_view lookup) {
  auto q = conn_.exec(sel(kKeyColumns, "FROM setup_keys WHERE lookup = $1"), {std::string(lookup)});
  if (!q) return pass(q);
  if (q->rows() == 0) return std::optional<SetupKeyRecord>();
  return std::optional<SetupKeyRecord>(key_from(*q, 0));
}

Result<Registration> PgStore::register_peer(std::string_view setup_key, const PeerHello& hello,
                                            int64_t now_unix) {
  Registration out;
  const std::string lookup = secret_lookup(setup_key, kSetupKeyPrefix);
  if (lookup.empty()) return out;  // kWrong
  auto tx = PgTransaction::begin(conn_);
  if (!tx) return pass(tx);
  // One registration at a time across all instances: each statement after the lock sees
  // every earlier registration committed (READ COMMITTED takes a snapshot per statement).
  if (auto r = conn_.exec("SELECT pg_advisory_xact_lock($1)", {kRegisterLock}); !r) return pass(r);
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

  auto numbers = conn_.exec("SELECT number FROM peers ORDER BY number");
  if (!numbers) return pass(numbers);
  std::vector<uint32_t> taken;
  taken.reserve(static_cast<size_t>(numbers->rows()));
  for (int i = 0; i < numbers->rows(); ++i) {
    taken.push_back(static_cast<uint32_t>(numbers->int64(i, 0)));
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
  auto ins = conn_.exec(
      "INSERT INTO peers (public_key, name, number, ipv4, ipv6, endpoints, tags, setup_key_id, "
      "created_unix, last_seen_unix) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) "
      "RETURNING id",
      {pg_bytea(p.public_key), p.name, pg_int(p.number), p.ipv4.to_string(), p.ipv6.to_string(),
       endpoints_text(p.endpoints), join_tags(p.tags), pg_int(k.id), pg_int(now_unix)});
  if (!ins) return pass(ins);
  p.id = ins->int64(0, 0);
  auto token = issue_stream_token(p.id);
  if (!token) return pass(token);
  out.stream_token = std::move(*token);
  auto use = conn_.exec("UPDATE setup_keys SET used = used + 1 WHERE id = $1", {pg_int(k.id)});
  if (!use) return pass(use);
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

Result<std::vector<PeerRecord>> PgStore::list_peers() {
  auto q = conn_.exec(sel(kPeerColumns, "FROM peers ORDER BY number"));
  if (!q) return pass(q);
  std::vector<PeerRecord> out;
  for (int i = 0; i < q->rows(); ++i)
    out.push_back(peer_from(*q, i));
  return out;
}

Result<std::optional<PeerRecord>> PgStore::find_peer(const crypto::Key& key) {
  auto q = conn_.exec(sel(kPeerColumns, "FROM peers WHERE public_key = $1"), {pg_bytea(key)});
  if (!q) return pass(q);
  if (q->rows() == 0) return std::optional<PeerRecord>();
  return std::optional<PeerRecord>(peer_from(*q, 0));
}

Result<std::string> PgStore::issue_stream_token(int64_t id) {
  std::string text = generate_secret(kStreamTokenPrefix);
  auto q = conn_.exec(
      "UPDATE peers SET token_lookup = $1, token_hash = $2 WHERE id = $3",
      {secret_lookup(text, kStreamTokenPrefix), pg_bytea(hash_secret(text)), pg_int(id)});
  if (!q) return pass(q);
  return text;
}

Result<std::optional<PeerRecord>> PgStore::find_peer_by_token(std::string_view stream_token) {
  const std::string lookup = secret_lookup(stream_token, kStreamTokenPrefix);
  if (lookup.empty()) return std::optional<PeerRecord>();
  auto q =
      conn_.exec(sel(kPeerColumns, ", token_hash FROM peers WHERE token_lookup = $1"), {lookup});
  if (!q) return pass(q);
  if (q->rows() == 0) return std::optional<PeerRecord>();
  const auto hash = q->bytea(0, 11);
  crypto::Sha256Digest stored{};
  if (hash.size() != stored.size()) return std::optional<PeerRecord>();
  std::copy(hash.begin(), hash.end(), stored.begin());
  if (!secret_matches(stored, stream_token)) return std::optional<PeerRecord>();
  return std::optional<PeerRecord>(peer_from(*q, 0));
}

Result<bool> PgStore::remove_peer(int64_t id, int64_t now_unix, std::string_view actor) {
  auto tx = PgTransaction::begin(conn_);
  if (!tx) return pass(tx);
  auto q = conn_.exec("DELETE FROM peers WHERE id = $1", {pg_int(id)});
  if (!q) return pass(q);
  if (q->affected() == 0) return false;
  if (auto st = bump_revision(); !st) return pass(st);
  if (auto st = audit(now_unix, actor, "peer.remove", "id=" + std::to_string(id)); !st) {
    return pass(st);
  }
  if (auto st = tx->commit(); !st) return pass(st);
  return true;
}

Status PgStore::touch_peer(const crypto::Key& key, const std::vector<Endpoint>& endpoints,
                           int64_t now_unix) {
  auto tx = PgTransaction::begin(conn_);
  if (!tx) return pass(tx);
  const std::string text = endpoints_text(endpoints);
  auto q = conn_.exec(
      "UPDATE peers SET last_seen_unix = $1, endpoints = $2 WHERE public_key = $3 AND "
      "endpoints <> $2",
      {pg_int(now_unix), text, pg_bytea(key)});
  if (!q) return pass(q);
  if (q->affected() > 0) {
    // New endpoints change other agents' maps.
    if (auto st = bump_revision(); !st) return st;
  } else {
    auto seen = conn_.exec("UPDATE peers SET last_seen_unix = $1 WHERE public_key = $2",
                           {pg_int(now_unix), pg_bytea(key)});
    if (!seen) return pass(seen);
  }
  return tx->commit();
}

Result<std::vector<PeerRecord>> PgStore::expire_peers(int64_t now_unix, int64_t max_unseen_s) {
  auto tx = PgTransaction::begin(conn_);
  if (!tx) return pass(tx);
  // One statement: a peer touched meanwhile by another instance is either gone and
  // returned, or stays.
  auto q = conn_.exec(
      std::string("DELETE FROM peers WHERE last_seen_unix < $1 RETURNING ") + kPeerColumns,
      {pg_int(now_unix - max_unseen_s)});
  if (!q) return pass(q);
  std::vector<PeerRecord> gone;
  for (int i = 0; i < q->rows(); ++i)
    gone.push_back(peer_from(*q, i));
  if (gone.empty()) return gone;
  std::sort(gone.begin(), gone.end(),
            [](const PeerRecord& a, const PeerRecord& b) { return a.number < b.number; });
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

Status PgStore::audit(int64_t now_unix, std::string_view actor, std::string_view action,
                      std::string_view detail) {
  auto q =
      conn_.exec("INSERT INTO audit (at_unix, actor, action, detail) VALUES ($1, $2, $3, $4)",
                 {pg_int(now_unix), std::string(actor), std::string(action), std::string(detail)});
  if (!q) return pass(q);
  return {};
}

Result<std::vector<AuditEntry>> PgStore::list_audit(size_t limit) {
  auto q =
      conn_.exec("SELECT id, at_unix, actor, action, detail FROM audit ORDER BY id DESC LIMIT $1",
                 {pg_int(static_cast<int64_t>(limit))});
  if (!q) return pass(q);
  std::vector<AuditEntry> out;
  for (int i = 0; i < q->rows(); ++i) {
    out.push_back(
        AuditEntry{q->int64(i, 0), q->int64(i, 1), q->text(i, 2), q->text(i, 3), q->text(i, 4)});
  }
  return out;
}

Result<std::optional<std::string>> PgStore::setting(std::string_view name) {
  auto q = conn_.exec("SELECT value FROM settings WHERE name = $1", {std::string(name)});
  if (!q) return pass(q);
  if (q->rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(q->text(0, 0));
}

Status PgStore::set_setting(std::string_view name, std::string_view value) {
  auto q = conn_.exec(
      "INSERT INTO settings (name, value) VALUES ($1, $2) "
      "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
      {std::string(name), std::string(value)});
  if (!q) return pass(q);
  return {};
}

Result<bool> PgStore::insert_setting(std::string_view name, std::string_view value) {
  auto q = conn_.exec("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                      {std::string(name), std::string(value)});
  if (!q) return pass(q);
  return q->affected() > 0;
}

}  // namespace tern::control
