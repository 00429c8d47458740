#include "cli/control.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>

#include <nlohmann/json.hpp>

#include "base/log.hpp"
#include "cli/control_client.hpp"
#include "cli/control_serve.hpp"
#include "control/api.hpp"
#include "control/duration_text.hpp"
#include "control/open_store.hpp"
#include "control/setup_key.hpp"
#include "control/sqlite_store.hpp"
#include "io/clock.hpp"

namespace tern::cli {
namespace {

using nlohmann::json;

constexpr const char* kControlHelp =
    "The coordination server of a tern network: admits machines with setup keys, gives each "
    "an overlay address and hands every agent the network map.\n\n"
    "Start a server for a trial (prints the admin token once):\n"
    "  tern control serve --listen 0.0.0.0:8443 --data /var/lib/tern-control --dev-self-signed\n"
    "Make a setup key, on the server's machine or from anywhere with the token:\n"
    "  tern control keys create --data /var/lib/tern-control --reusable --expires-in 7d\n"
    "  tern control keys create --url https://ctl.example.org:8443 --token \"$TOKEN\" "
    "--ca ca.pem\n"
    "See the machines that joined:\n"
    "  tern control peers list --data /var/lib/tern-control\n"
    "Servers sharing PostgreSQL: the same commands with --database postgres://...";

// Where the admin commands go: the API, or the store itself (the data directory's SQLite, or
// the PostgreSQL database that servers share).
struct Target {
  std::string url;
  std::string token;
  std::string ca;
  std::string data;
  std::string database;
  bool json_out = false;

  void add_to(CLI::App* sub) {
    sub->add_option("--url", url, "the control server, https://HOST:PORT");
    sub->add_option("--token", token,
                    "admin token (default: $TERN_CONTROL_TOKEN); printed by the server's "
                    "first start");
    sub->add_option("--ca", ca, "PEM CA file to trust for --url (e.g. DATA/ca.pem)");
    sub->add_option("--data", data, "work on this data directory directly, without a server");
    sub->add_option("--database", database,
                    "postgres://... : work on the servers' shared database directly");
    sub->add_flag("--json", json_out, "print JSON for scripts");
  }

  // The reply to one admin call, made by whichever way was chosen.
  Result<ApiReply> call(const std::string& method, const std::string& path,
                        const std::string& body = {}) const {
    const bool local = !data.empty() || !database.empty();
    if (url.empty() == !local) {
      return fail("give either --url (with --token), --data DIR or --database postgres://...");
    }
    if (!url.empty()) {
      std::string t = token;
      if (t.empty()) {
        if (const char* env = std::getenv("TERN_CONTROL_TOKEN")) t = env;
      }
      if (t.empty()) return fail("--url needs --token (or $TERN_CONTROL_TOKEN)");
      return api_call(ApiTarget{url, t, ca}, method, path, body);
    }
    // A change on PostgreSQL reaches the running servers' agents like one made through them:
    // each write bumps the shared revision and notifies (control/pg_store.hpp).
    auto store = control::open_store({data, database});
    if (!store) return tl::unexpected(store.error());
    // The token does not matter here: admin() skips it; whoever can write the store is admin.
    control::Api api(**store, {}, crypto::Sha256Digest{});
    const auto r =
        api.admin(method, path, "", body, io::wall_now().unix_ns / 1'000'000'000, "local");
    return ApiReply{r.status, r.body};
  }
};

// Runs one call; prints the error and returns the exit code when it failed, else the JSON.
std::optional<json> run_call(const Target& t, const std::string& method, const std::string& path,
                             const std::string& body, int& exit_code) {
  auto reply = t.call(method, path, body);
  if (!reply) {
    std::fprintf(stderr, "tern control: %s\n", reply.error().message.c_str());
    exit_code = 1;
    return std::nullopt;
  }
  json j = json::parse(reply->body, nullptr, false);
  if (reply->status >= 300) {
    const std::string message = j.is_object() && j.contains("error") && j["error"].is_string()
                                    ? j["error"].get<std::string>()
                                    : reply->body;
    std::fprintf(stderr, "tern control: %d: %s\n", reply->status, message.c_str());
    exit_code = reply->status == 401 || reply->status == 403 ? 3 : 1;
    return std::nullopt;
  }
  if (j.is_discarded()) {
    std::fprintf(stderr, "tern control: the answer is not JSON\n");
    exit_code = 1;
    return std::nullopt;
  }
  exit_code = 0;
  return j;
}

std::string when(const json& unix_seconds) {
  if (!unix_seconds.is_number_integer()) return "never";
  const time_t t = unix_seconds.get<int64_t>();
  struct tm tm {};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M", &tm);
  return text;
}

std::string tags_text(const json& tags) {
  std::string out;
  for (const auto& t : tags) {
    if (!out.empty()) out += ',';
    out += t.get<std::string>();
  }
  return out.empty() ? "-" : out;
}

void print_key(const json& k) {
  const std::string uses =
      std::to_string(k["used"].get<int64_t>()) + "/" +
      (k["usage_limit"].get<int64_t>() == 0 ? std::string("-")
                                            : std::to_string(k["usage_limit"].get<int64_t>()));
  std::printf(
      "%-4lld %-14s %-9s %-8s %-8s %-16s %-8s %s\n", static_cast<long long>(k["id"].get<int64_t>()),
      k["prefix"].get<std::string>().c_str(), k["reusable"].get<bool>() ? "reusable" : "one-off",
      uses.c_str(), k["state"].get<std::string>().c_str(), when(k["expires"]).c_str(),
      tags_text(k["tags"]).c_str(), k["name"].get<std::string>().c_str());
}

struct KeysCreate {
  Target target;
  std::string name;
  bool reusable = false;
  uint32_t usage_limit = 0;
  std::string expires_in;
  std::string tags;

  int run() const {
    json req = {{"reusable", reusable}};
    if (!name.empty()) req["name"] = name;
    if (usage_limit) req["usage_limit"] = usage_limit;
    if (!expires_in.empty()) {
      auto s = control::parse_duration_seconds(expires_in);
      if (!s) {
        std::fprintf(stderr, "tern control: --expires-in: %s\n", s.error().message.c_str());
        return 2;
      }
      req["expires_in"] = *s;
    }
    if (!tags.empty()) {
      auto t = control::parse_tags(tags);
      if (!t) {
        std::fprintf(stderr, "tern control: --tags: %s\n", t.error().message.c_str());
        return 2;
      }
      req["tags"] = *t;
    }
    int code = 0;
    auto j = run_call(target, "POST", "/api/v1/keys", req.dump(), code);
    if (!j) return code;
    if (target.json_out) {
      std::printf("%s\n", j->dump(2).c_str());  // the key is its "secret"
      return 0;
    }
    std::printf("setup key %lld created (%s); it is shown this once only:\n",
                static_cast<long long>((*j)["key"]["id"].get<int64_t>()),
                reusable ? "reusable" : "one-off");
    // Alone on the last line, for scripts: KEY=$(tern control keys create ... | tail -n1)
    std::printf("%s\n", (*j)["secret"].get<std::string>().c_str());
    return 0;
  }
};

int keys_list(const Target& t) {
  int code = 0;
  auto j = run_call(t, "GET", "/api/v1/keys", "", code);
  if (!j) return code;
  if (t.json_out) {
    std::printf("%s\n", j->dump(2).c_str());
    return 0;
  }
  std::printf("%-4s %-14s %-9s %-8s %-8s %-16s %-8s %s\n", "ID", "PREFIX", "KIND", "USED", "STATE",
              "EXPIRES (UTC)", "TAGS", "NAME");
  for (const auto& k : (*j)["keys"])
    print_key(k);
  return 0;
}

int delete_item(const Target& t, const std::string& collection, int64_t id, const char* done) {
  int code = 0;
  auto j = run_call(t, "DELETE", "/api/v1/" + collection + "/" + std::to_string(id), "", code);
  if (!j) return code;
  if (t.json_out) {
    std::printf("%s\n", j->dump(2).c_str());
  } else {
    std::printf("%s %lld\n", done, static_cast<long long>(id));
  }
  return 0;
}

int peers_list(const Target& t) {
  int code = 0;
  auto j = run_call(t, "GET", "/api/v1/peers", "", code);
  if (!j) return code;
  if (t.json_out) {
    std::printf("%s\n", j->dump(2).c_str());
    return 0;
  }
  std::printf("%-4s %-16s %-24s %-44s %-16s %s\n", "ID", "IPV4", "IPV6", "PUBLIC KEY",
              "LAST SEEN (UTC)", "NAME");
  for (const auto& p : (*j)["peers"]) {
    std::printf("%-4lld %-16s %-24s %-44s %-16s %s\n",
                static_cast<long long>(p["id"].get<int64_t>()),
                p["ipv4"].get<std::string>().c_str(), p["ipv6"].get<std::string>().c_str(),
                p["public_key"].get<std::string>().c_str(), when(p["last_seen"]).c_str(),
                p["name"].get<std::string>().c_str());
  }
  return 0;
}

int backup(const std::string& data, const std::string& file) {
  auto store = control::SqliteStore::open(data);
  if (!store) {
    std::fprintf(stderr, "tern control: %s\n", store.error().message.c_str());
    return 1;
  }
  if (auto st = (*store)->backup_to(file); !st) {
    std::fprintf(stderr, "tern control: %s\n", st.error().message.c_str());
    return 1;
  }
  std::printf(
      "tern control: backed up %s to %s (open it with --data on a directory holding "
      "it as %s)\n",
      data.c_str(), file.c_str(), control::SqliteStore::kFileName);
  return 0;
}

}  // namespace

void add_control_command(CLI::App& app) {
  auto* ctl = app.add_subcommand("control", "Run and administer a tern coordination server");
  ctl->description(kControlHelp);
  ctl->require_subcommand(1);

  auto serve_opts = std::make_shared<ServeOptions>();
  auto verbose = std::make_shared<bool>(false);
  auto* serve_cmd = ctl->add_subcommand("serve", "Run the server in the foreground");
  serve_cmd->add_option("--listen", serve_opts->listen,
                        "ADDR:PORT for the HTTPS API (default 127.0.0.1:8443)");
  serve_cmd->add_option("--data", serve_opts->data, "data directory (created 0700)")->required();
  serve_cmd->add_option("--database", serve_opts->database,
                        "postgres://... : share one database between several servers; default "
                        "SQLite in --data");
  serve_cmd->add_flag("--dev-self-signed", serve_opts->dev_self_signed,
                      "make (once) a self-signed certificate, DATA/ca.pem, for trials");
  serve_cmd->add_option("--cert", serve_opts->cert, "PEM certificate chain");
  serve_cmd->add_option("--key", serve_opts->key, "PEM private key of --cert");
  serve_cmd->add_flag("--dev-plain-http", serve_opts->dev_plain_http,
                      "no TLS at all: development on a loopback address only");
  serve_cmd->add_option("--address-pool", serve_opts->v4_pool,
                        "IPv4 prefix for overlay addresses, fixed at the first start (default "
                        "100.64.0.0/10)");
  serve_cmd->add_option("--relay", serve_opts->relays,
                        "TURN URL handed to agents (turn:HOST:PORT), repeatable");
  serve_cmd->add_option("--relay-secret", serve_opts->relay_secret,
                        "secret shared with the relays (tern relay --secret, coturn's "
                        "static-auth-secret)");
  serve_cmd->add_option("--relay-ttl", serve_opts->relay_ttl,
                        "lifetime of relay credentials (default 24h)");
  serve_cmd->add_option("--peer-expiry", serve_opts->peer_expiry,
                        "remove peers not seen for this long (e.g. 30d; default never)");
  serve_cmd->add_option("--max-streams", serve_opts->max_streams,
                        "agents connected at once (default 20000)");
  serve_cmd->add_flag("-v,--verbose", *verbose, "log every request");
  serve_cmd->callback([serve_opts, verbose] {
    if (*verbose) log::set_level(log::Level::kDebug);
    auto st = serve(*serve_opts);
    if (!st) {
      std::fprintf(stderr, "tern control: %s\n", st.error().message.c_str());
      throw CLI::RuntimeError(1);
    }
    throw CLI::RuntimeError(0);
  });

  auto backup_args = std::make_shared<std::pair<std::string, std::string>>();
  auto* backup_cmd = ctl->add_subcommand(
      "backup", "Copy the database to FILE with SQLite's online backup (the server may run)");
  backup_cmd->add_option("file", backup_args->second, "where to write the copy")->required();
  backup_cmd->add_option("--data", backup_args->first, "data directory")->required();
  backup_cmd->callback(
      [backup_args] { throw CLI::RuntimeError(backup(backup_args->first, backup_args->second)); });

  auto* keys = ctl->add_subcommand("keys", "Setup keys: create, list, revoke");
  keys->require_subcommand(1);
  auto create = std::make_shared<KeysCreate>();
  auto* create_cmd = keys->add_subcommand(
      "create", "Make a setup key; prints it alone on the last line (shown once)");
  create->target.add_to(create_cmd);
  create_cmd->add_option("--name", create->name, "a name for the key");
  create_cmd->add_flag("--reusable", create->reusable,
                       "admit many machines (default: one-off, one machine)");
  create_cmd->add_option("--usage-limit", create->usage_limit,
                         "with --reusable: at most this many machines (default no limit)");
  create_cmd->add_option("--expires-in", create->expires_in,
                         "the key stops working after this long (e.g. 1h, 7d)");
  create_cmd->add_option("--tags", create->tags, "tags the admitted peers get (a,b,c)");
  create_cmd->callback([create] { throw CLI::RuntimeError(create->run()); });

  auto list_target = std::make_shared<Target>();
  auto* list_cmd = keys->add_subcommand("list", "List setup keys (never their secret part)");
  list_target->add_to(list_cmd);
  list_cmd->callback([list_target] { throw CLI::RuntimeError(keys_list(*list_target)); });

  auto revoke = std::make_shared<std::pair<Target, int64_t>>();
  auto* revoke_cmd = keys->add_subcommand("revoke", "Revoke a setup key by its ID");
  revoke->first.add_to(revoke_cmd);
  revoke_cmd->add_option("id", revoke->second, "the key's ID (keys list)")->required();
  revoke_cmd->callback([revoke] {
    throw CLI::RuntimeError(delete_item(revoke->first, "keys", revoke->second, "revoked key"));
  });

  auto* peers = ctl->add_subcommand("peers", "Registered machines: list, remove");
  peers->require_subcommand(1);
  auto peers_target = std::make_shared<Target>();
  auto* peers_list_cmd = peers->add_subcommand("list", "List peers with their addresses");
  peers_target->add_to(peers_list_cmd);
  peers_list_cmd->callback([peers_target] { throw CLI::RuntimeError(peers_list(*peers_target)); });

  auto remove = std::make_shared<std::pair<Target, int64_t>>();
  auto* remove_cmd = peers->add_subcommand("remove", "Remove a peer by its ID");
  remove->first.add_to(remove_cmd);
  remove_cmd->add_option("id", remove->second, "the peer's ID (peers list)")->required();
  remove_cmd->callback([remove] {
    throw CLI::RuntimeError(delete_item(remove->first, "peers", remove->second, "removed peer"));
  });
}

}  // namespace tern::cli
