// Fuzzes `tern doctor routes`' parsers and its route lookups. A first byte of '{' makes the
// input `nft -j list ruleset` text, one of '*' or '#' `iptables-legacy-save -c` text (then the
// port rules found are matched against a few ports); otherwise the input is cut into rtnetlink dump
// messages (2-byte length, then the message) merged into one NetState, which check_routes then
// reasons about for a WireGuard interface named after the first link. Nothing may crash, hang or
// read past a message.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "doctor/routes_check.hpp"
#include "doctor/routes_iptables.hpp"
#include "doctor/routes_netlink.hpp"
#include "doctor/routes_nft.hpp"

using namespace tern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto match_ports = [](const std::vector<doctor::NftPortRule>& rules) {
    for (uint16_t port : {0, 53, 51820, 65535}) {
      for (const auto& r : doctor::nft_drops_for_port(rules, port))
        (void)r.describe();
    }
  };
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (size > 0 && data[0] == '{') {
    if (auto rules = doctor::parse_nft_port_rules(text)) match_ports(*rules);
    return 0;
  }
  if (size > 0 && (data[0] == '*' || data[0] == '#')) {
    match_ports(doctor::parse_iptables_port_rules(text, "ip"));
    return 0;
  }
  doctor::RoutesCheckInput in;
  size_t pos = 0;
  while (pos + 2 <= size) {
    const size_t want = data[pos] | (data[pos + 1] << 8);
    pos += 2;
    const size_t len = std::min(want, size - pos);
    std::vector<uint8_t> m(data + pos, data + pos + len);
    pos += len;
    if (!doctor::merge_rtnl_message(m, in.net)) break;
  }
  if (in.net.routes.size() + in.net.rules.size() > 64) return 0;  // bounded work per input
  doctor::WgInterfaceRoutes wg;
  wg.name = in.net.links.empty() ? std::string("wg0") : in.net.links.front().name;
  wg.fwmark = 0xca6c;
  wg.listen_port = 51820;
  doctor::WgPeerRoutes peer;
  peer.endpoint = Endpoint::parse("192.0.2.1:51820");
  for (const auto& a : in.net.addresses)
    peer.allowed_ips.push_back(a.prefix);
  for (const auto& r : in.net.routes) {
    if (peer.allowed_ips.size() < 16) peer.allowed_ips.push_back(r.dst);
  }
  wg.peers.push_back(peer);
  in.interfaces.push_back(wg);
  in.rp_filter_all = 1;
  auto report = doctor::check_routes(in);
  (void)doctor::render_routes_human(report);
  (void)doctor::routes_to_json(report).dump(2, ' ', false,
                                            nlohmann::json::error_handler_t::replace);
  return 0;
}
