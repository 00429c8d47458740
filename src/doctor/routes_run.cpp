#include "doctor/routes_run.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <utility>

#include <fmt/format.h>

#include "doctor/routes_iptables.hpp"
#include "doctor/routes_netlink.hpp"
#include "doctor/wg_run.hpp"
#include "doctor/wg_uapi.hpp"
#include "io/rtnl_dump.hpp"
#include "io/run_command.hpp"
#include "io/sysctl.hpp"

namespace tern::doctor {
namespace {

namespace fs = std::filesystem;

struct Target {
  std::string name;
  bool uapi = false;
};

bool is_kernel_wireguard(const fs::path& dir) {
  std::ifstream f(dir / "uevent");
  std::string line;
  while (std::getline(f, line)) {
    if (line == "DEVTYPE=wireguard") return true;
  }
  return false;
}

std::vector<Target> find_interfaces(const RoutesOptions& o) {
  std::vector<Target> out;
  std::error_code ec;
  if (o.ifname) {
    out.push_back({*o.ifname, fs::exists(fs::path(o.uapi_dir) / (*o.ifname + ".sock"), ec)});
    return out;
  }
  for (const auto& e : fs::directory_iterator(o.uapi_dir, ec)) {
    if (e.path().extension() == ".sock") out.push_back({e.path().stem().string(), true});
  }
  for (const auto& e : fs::directory_iterator(o.sysfs_net, ec)) {
    if (is_kernel_wireguard(e.path())) out.push_back({e.path().filename().string(), false});
  }
  std::sort(out.begin(), out.end(),
            [](const Target& a, const Target& b) { return a.name < b.name; });
  return out;
}

std::optional<int> sysctl_int(const std::string& name) {
  auto text = io::read_sysctl(name);
  if (!text) return std::nullopt;
  int v = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return v;
}

constexpr size_t kMaxRuleset = 64 * 1024 * 1024;

// The nftables ruleset's port rules, or a note on why it could not be read.
std::optional<std::vector<NftPortRule>> read_nft(std::vector<std::string>& notes) {
  auto r = io::run_command({"nft", "-j", "list", "ruleset"}, std::chrono::seconds(5), kMaxRuleset);
  if (!r) {
    notes.push_back("firewall not checked: " + r.error().message);
    return std::nullopt;
  }
  if (r->not_found) {
    notes.push_back(
        "nftables not checked: nft is not installed (apt install nftables; rules of "
        "iptables-legacy are read when iptables-legacy-save is there)");
    return std::nullopt;
  }
  if (r->exit_status != 0) {
    std::string err = r->err.substr(0, r->err.find('\n'));
    if (err.find("Operation not permitted") != std::string::npos || err.empty()) {
      notes.push_back(
          "firewall not checked: reading the nftables ruleset needs root (CAP_NET_ADMIN): run "
          "`sudo tern doctor routes`");
    } else {
      notes.push_back("firewall not checked: nft -j list ruleset: " + err);
    }
    return std::nullopt;
  }
  auto rules = parse_nft_port_rules(r->out);
  if (!rules) {
    notes.push_back("firewall not checked: " + rules.error().message);
    return std::nullopt;
  }
  return std::move(*rules);
}

// iptables-legacy's rules, which nft does not show: both families, when the tools are installed
// and anything is loaded through them. Appended to `rules`; nullopt stays nullopt when neither
// tool ran.
void read_iptables_legacy(std::optional<std::vector<NftPortRule>>& rules,
                          std::vector<std::string>& notes) {
  for (const auto& [tool, family] :
       {std::pair{"iptables-legacy-save", "ip"}, std::pair{"ip6tables-legacy-save", "ip6"}}) {
    auto r = io::run_command({tool, "-c"}, std::chrono::seconds(5), kMaxRuleset);
    if (!r || r->not_found) continue;  // not installed: nothing can be loaded through it
    if (r->exit_status != 0) {
      notes.push_back(fmt::format("{} -c failed: {}: its rules are not checked (run as root)", tool,
                                  r->err.substr(0, r->err.find('\n'))));
      continue;
    }
    auto found = parse_iptables_port_rules(r->out, family);
    if (!rules) rules.emplace();
    rules->insert(rules->end(), found.begin(), found.end());
  }
}

WgInterfaceRoutes to_routes(const std::string& name, const uapi::DeviceSnapshot& d) {
  WgInterfaceRoutes w;
  w.name = name;
  w.listen_port = d.listen_port;
  w.fwmark = d.fwmark;
  for (const auto& p : d.peers)
    w.peers.push_back({p.public_key, p.endpoint, p.allowed_ips});
  return w;
}

}  // namespace

Result<NetState> read_net_state() {
  NetState net;
  for (uint16_t type : {rtnl::kGetLink, rtnl::kGetAddr, rtnl::kGetRoute, rtnl::kGetRule}) {
    auto messages = io::rtnl_dump(type, rtnl::kAfUnspec);
    if (!messages) return tl::unexpected(messages.error());
    for (const auto& m : *messages) {
      if (auto st = merge_rtnl_message(m, net); !st) return tl::unexpected(st.error());
    }
  }
  return net;
}

RoutesReport run_routes_check(const RoutesOptions& options, const Progress& progress) {
  auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  RoutesReport report;
  say("reading routes, rules and addresses");
  auto net = read_net_state();
  if (!net) {
    report.error = net.error().message;
    return report;
  }
  RoutesCheckInput in;
  in.net = std::move(*net);
  const auto targets = find_interfaces(options);
  std::vector<std::pair<std::string, std::string>> unreadable;
  size_t elsewhere = 0;
  for (const auto& t : targets) {
    // /var/run/wireguard is shared by every network namespace: a socket whose interface is not
    // here belongs to another namespace, whose routes these are not.
    if (!in.net.link_index(t.name)) {
      if (!options.ifname) {
        ++elsewhere;
        continue;
      }
      unreadable.emplace_back(t.name, "no such interface in this network namespace");
      continue;
    }
    say("reading " + t.name);
    auto d = t.uapi ? query_uapi((fs::path(options.uapi_dir) / (t.name + ".sock")).string())
                    : read_kernel_wg(t.name);
    if (!d) {
      std::string why = d.error().message;
      if (why.find("ermission denied") != std::string::npos &&
          why.find("sudo") == std::string::npos) {
        why += " (its UAPI socket is root's: run `sudo tern doctor routes`)";
      }
      unreadable.emplace_back(t.name, std::move(why));
      continue;
    }
    in.interfaces.push_back(to_routes(t.name, *d));
  }
  in.rp_filter_all = sysctl_int("net.ipv4.conf.all.rp_filter");
  for (const auto& w : in.interfaces) {
    if (auto v = sysctl_int("net.ipv4.conf." + w.name + ".rp_filter")) in.rp_filter[w.name] = *v;
  }
  if (options.firewall && !in.interfaces.empty()) {
    say("reading the nftables ruleset and iptables-legacy's rules");
    in.nft = read_nft(report.notes);
    read_iptables_legacy(in.nft, report.notes);
  }
  report = [&] {
    auto r = check_routes(in);
    r.notes = std::move(report.notes);
    return r;
  }();
  for (auto& [name, error] : unreadable) {
    RoutesInterfaceReport r;
    r.name = name;
    r.error = error;
    report.interfaces.push_back(std::move(r));
  }
  if (elsewhere > 0) {
    report.notes.push_back(fmt::format(
        "{} UAPI socket(s) of interfaces in other network namespaces skipped: run the doctor "
        "in their namespace (ip netns exec NS tern doctor routes)",
        elsewhere));
  }
  if (targets.size() == elsewhere) {
    report.notes.push_back("no WireGuard interface found in this network namespace");
  }
  return report;
}

}  // namespace tern::doctor
