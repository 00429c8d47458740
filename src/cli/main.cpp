#include "cli/main.hpp"

#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/control.hpp"
#include "cli/doctor.hpp"
#include "cli/relay.hpp"
#include "cli/up.hpp"

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
  UpControlArgs control;
  auto* up = app.add_subcommand(
      "up",
      "Create the interface from a wg-quick config file, or join a tern control network, and "
      "run the tunnel in the foreground until SIGINT/SIGTERM, which removes the interface "
      "again. Needs root (CAP_NET_ADMIN). `wg show IFACE` and `wg set IFACE ...` work against "
      "it.\n  tern up --config /etc/wireguard/wg0.conf\n"
      "  tern up --control https://ctl.example.org:8443 --setup-key tsk_... --ca ca.pem");
  auto* config_opt =
      up->add_option("-c,--config", config_path,
                     "wg-quick configuration file ([Interface] PrivateKey, ListenPort, Address, "
                     "MTU; [Peer] PublicKey, PresharedKey, Endpoint, AllowedIPs, "
                     "PersistentKeepalive)")
          ->check(CLI::ExistingFile);
  auto* control_opt = up->add_option(
      "--control", control.url,
      "Join the tern control server at this URL (https://HOST:PORT): peers, addresses and "
      "endpoints come from its network map");
  config_opt->excludes(control_opt);
  up->add_option("--setup-key", control.setup_key,
                 "Setup key (tsk_...) for the first join; later starts use the state directory")
      ->needs(control_opt);
  up->add_option("--ca", control.ca_file,
                 "CA certificate the control server's certificate must chain to (e.g. "
                 "DATA/ca.pem of a --dev-self-signed server); default: the system's CAs")
      ->check(CLI::ExistingFile)
      ->needs(control_opt);
  up->add_option("--state", control.state_dir,
                 "State directory (default /var/lib/tern/IFACE): private key, stream token, "
                 "last network map")
      ->needs(control_opt);
  up->add_option("--listen-port", control.listen_port, "UDP port with --control (default 51820)")
      ->needs(control_opt);
  up->add_option("--name", control.name,
                 "This machine's name in the network with --control (default: the host name)")
      ->needs(control_opt);
  up->add_option("-i,--interface", interface_name,
                 "Interface name (default: the config file's name without .conf, as wg-quick; "
                 "tern0 with --control)");
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
  if (*up && !control.url.empty()) {
    control.interface_name = interface_name;
    control.verbose = verbose;
    return cmd_up_control(control);
  }
  if (*up && config_path.empty()) {
    std::fprintf(stderr, "tern up: give --config FILE or --control URL\n");
    return 2;
  }
  if (*up) return cmd_up(config_path, interface_name, verbose);
  if (*status) return cmd_status(status_interface, json);
  return 1;
}

}  // namespace tern::cli
