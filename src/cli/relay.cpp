#include "cli/relay.hpp"

#include <memory>

#include "base/log.hpp"
#include "relayd/options.hpp"
#include "relayd/relay_daemon.hpp"

namespace tern::cli {
namespace {

constexpr const char* kRelayHelp =
    "Run a STUN (RFC 8489) and TURN (RFC 8656) server over UDP and TCP (and TLS with --tls-cert "
    "and --tls-key), in the foreground until "
    "SIGINT/SIGTERM. Clients authenticate with static users (--user) and/or TURN REST "
    "credentials made from a shared secret (--secret, as coturn's static-auth-secret): "
    "username `EXPIRY:NAME`, password base64(HMAC-SHA1(secret, username)). By default it "
    "refuses to relay to loopback, private, link-local, CGNAT, multicast, broadcast and "
    "unspecified addresses (--allow re-permits a prefix).\n\n"
    "Examples:\n"
    "  tern relay --listen 203.0.113.1 --secret \"$(cat /etc/tern/relay-secret)\" \\\n"
    "             --metrics 127.0.0.1:9641\n"
    "      the same secret in `tern control` (or coturn's static-auth-secret) hands out\n"
    "      credentials this relay accepts\n"
    "  tern relay --listen 0.0.0.0:3478 --relay-address 203.0.113.1 --user alice:s3cret \\\n"
    "             --realm example.org --user-quota 4 --rate 1M\n"
    "  tern relay --listen 203.0.113.1 --secret S --tls-cert /etc/tern/relay.crt \\\n"
    "             --tls-key /etc/tern/relay.key\n"
    "      TURN over UDP and TCP on 3478 and over TLS on 5349\n"
    "  tern relay --listen 203.0.113.1 --other-address 203.0.113.2 --user alice:s3cret\n"
    "      RFC 5780 NAT behaviour discovery: listens on both addresses x ports 3478, 3479\n"
    "Check it with coturn's client: turnutils_uclient -u alice -w s3cret -e PEER 203.0.113.1";

struct RelayCommand {
  relayd::RawOptions raw;
  bool verbose = false;

  int run() const {
    if (verbose) log::set_level(log::Level::kDebug);
    auto config = relayd::make_config(raw);
    if (!config) {
      log::error("tern relay: {}", config.error().message);
      return 2;
    }
    auto daemon = relayd::RelayDaemon::start(*config);
    if (!daemon) {
      log::error("tern relay: {}", daemon.error().message);
      return 1;
    }
    if (auto st = (*daemon)->run(); !st) {
      log::error("tern relay: {}", st.error().message);
      return 1;
    }
    return 0;
  }
};

}  // namespace

void add_relay_command(CLI::App& app) {
  // Owned by the app: CLI11 stores pointers to the fields.
  auto cmd = std::make_shared<RelayCommand>();
  relayd::RawOptions& r = cmd->raw;
  auto* sub =
      app.add_subcommand("relay", "Run a STUN/TURN relay server (UDP, TCP, TLS) with metrics");
  sub->description(kRelayHelp);
  sub->add_option("--listen", r.listen,
                  "ADDR[:PORT] to listen on for STUN/TURN over UDP and TCP, repeatable (default "
                  "0.0.0.0:3478)");
  sub->add_option("--relay-address", r.relay_address,
                  "ADDR allocations are announced at and relay from, one per family (default: "
                  "the --listen address)");
  sub->add_option("--other-address,--alt-address", r.other_address,
                  "a second ADDR of this host: RFC 5780 behaviour discovery on both addresses x "
                  "ports PORT and PORT+1");
  sub->add_option("--realm", r.realm, "realm of the long-term credentials (default tern)");
  sub->add_option("--user", r.users, "NAME:PASSWORD of a static user, repeatable");
  sub->add_option("--secret", r.secrets,
                  "TURN REST shared secret (coturn's static-auth-secret), repeatable for rotation");
  sub->add_option("--allow", r.allow,
                  "PREFIX of peers to permit despite the default refusal (e.g. 10.9.0.0/16), "
                  "repeatable");
  sub->add_option("--deny", r.deny, "PREFIX of peers to refuse besides the defaults, repeatable");
  sub->add_option("--max-lifetime", r.max_lifetime,
                  "longest allocation lifetime a client may ask for (default 1h; e.g. 3600, 30m)");
  sub->add_option("--user-quota", r.user_quota,
                  "allocations per user at once (default 16; 0: only --total-quota applies)");
  sub->add_option("--total-quota", r.total_quota, "allocations in total at once (default 4096)");
  sub->add_option("--rate", r.rate,
                  "BYTES/S per allocation and direction (e.g. 500k, 1.5M; default unlimited)");
  sub->add_option("--port-range", r.port_range, "MIN-MAX of relay ports (default 49152-65535)");
  sub->add_option("--metrics", r.metrics,
                  "ADDR:PORT serving Prometheus text at http://ADDR:PORT/metrics");
  sub->add_flag("--no-tcp", r.no_tcp,
                "UDP only: no TURN over TCP on the --listen addresses (TCP listens by default)");
  sub->add_option("--tls-cert", r.tls_cert,
                  "PEM certificate chain: TURN over TLS on the --listen addresses at --tls-port");
  sub->add_option("--tls-key", r.tls_key, "PEM private key of --tls-cert");
  sub->add_option("--tls-port", r.tls_port, "TLS port (default 5349)");
  sub->add_option("--max-connections", r.max_connections,
                  "TCP connections at once, and TLS ones (default 1024 each; more are closed)");
  sub->add_option("--threads", r.threads,
                  "event loops, each with its own clients and a UDP listener of its own on "
                  "every address (SO_REUSEPORT); default one per CPU, 1 for a single thread");
  sub->add_flag("-v,--verbose", cmd->verbose, "Log allocations as they open and close");
  sub->callback([cmd] { throw CLI::RuntimeError(cmd->run()); });
}

}  // namespace tern::cli
