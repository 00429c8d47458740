#include "cli/main.hpp"

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/control.hpp"
#include "cli/doctor.hpp"
#include "cli/relay.hpp"

namespace tern::cli {

int run(int argc, char** argv) {
  CLI::App app{
      "tern: a mesh VPN that speaks the WireGuard protocol and tells you where and why "
      "packets are lost.\n\n"
      "Start a tunnel from a wg-quick configuration file:\n"
      "  tern up --config /etc/wireguard/wg0.conf\n"
      "See its peers, traffic and dropped packets by reason:\n"
      "  tern status wg0\n",
      "tern"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tern 0.1.0");

  auto* genkey = app.add_subcommand("genkey", "Print a new private key (base64), like `wg genkey`");
  auto* genpsk =
      app.add_subcommand("genpsk", "Print a new preshared key (base64), like `wg genpsk`");
  auto* pubkey = app.add_subcommand(
      "pubkey", "Read a private key on stdin, print its public key, like `wg pubkey`");

  std::string config_path;
  std::string interface_name;
  bool verbose = false;
  auto* up = app.add_subcommand(
      "up",
      "Create the interface from a wg-quick config file and run the tunnel in the foreground "
      "until SIGINT/SIGTERM, which removes the interface again. Needs root (CAP_NET_ADMIN). "
      "`wg show IFACE` and `wg set IFACE ...` work against it.");
  up->add_option("-c,--config", config_path,
                 "wg-quick configuration file ([Interface] PrivateKey, ListenPort, Address, MTU; "
                 "[Peer] PublicKey, PresharedKey, Endpoint, AllowedIPs, PersistentKeepalive)")
      ->required()
      ->check(CLI::ExistingFile);
  up->add_option("-i,--interface", interface_name,
                 "Interface name (default: the config file's name without .conf, as wg-quick)");
  up->add_flag("-v,--verbose", verbose, "Log handshakes and other events");

  std::string status_interface;
  bool json = false;
  auto* status = app.add_subcommand(
      "status", "Show each peer's endpoint, last handshake, traffic and dropped packets by reason");
  status->add_option("interface", status_interface,
                     "Interface to show (default: every tern interface)");
  status->add_flag("--json", json, "Print JSON for scripts");

  add_relay_command(app);
  add_doctor_command(app);
  add_control_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (*genkey) return cmd_genkey();
  if (*genpsk) return cmd_genpsk();
  if (*pubkey) return cmd_pubkey();
  if (*up) return cmd_up(config_path, interface_name, verbose);
  if (*status) return cmd_status(status_interface, json);
  return 1;
}

}  // namespace tern::cli
