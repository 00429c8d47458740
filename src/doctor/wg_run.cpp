#include "doctor/wg_run.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "doctor/df_ping.hpp"
#include "doctor/nat_run.hpp"
#include "doctor/wg_uapi.hpp"
#include "io/clock.hpp"
#include "io/genl.hpp"

namespace tern::doctor {
namespace {

namespace fs = std::filesystem;

std::string read_line(const fs::path& p) {
  std::ifstream f(p);
  std::string line;
  std::getline(f, line);
  return line;
}

bool is_kernel_wireguard(const fs::path& dir) {
  std::ifstream f(dir / "uevent");
  std::string line;
  while (std::getline(f, line)) {
    if (line == "DEVTYPE=wireguard") return true;
  }
  return false;
}

struct Target {
  std::string name;
  bool uapi = false;
};

std::vector<Target> find_interfaces(const WgCheckOptions& o) {
  std::vector<Target> out;
  std::error_code ec;
  if (o.ifname) {
    out.push_back({*o.ifname, fs::exists(fs::path(o.uapi_dir) / (*o.ifname + ".sock"), ec)});
    return out;
  }
  for (const auto& e : fs::directory_iterator(o.uapi_dir, ec)) {
    // /var/run/wireguard holds the sockets of every network namespace (and stale ones): only
    // an interface that exists here can be pinged through and judged here.
    const std::string name = e.path().stem().string();
    if (e.path().extension() == ".sock" && fs::exists(fs::path(o.sysfs_net) / name, ec)) {
      out.push_back({name, true});
    }
  }
  for (const auto& e : fs::directory_iterator(o.sysfs_net, ec)) {
    if (is_kernel_wireguard(e.path())) out.push_back({e.path().filename().string(), false});
  }
  std::sort(out.begin(), out.end(),
            [](const Target& a, const Target& b) { return a.name < b.name; });
  return out;
}

std::optional<uint32_t> interface_mtu(const WgCheckOptions& o, const std::string& name) {
  const std::string text = read_line(fs::path(o.sysfs_net) / name / "mtu");
  if (text.empty() || text.size() > 9 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(std::stoul(text));
}

Result<uapi::DeviceSnapshot> read_interface(const WgCheckOptions& o, const Target& t) {
  if (t.uapi) return query_uapi((fs::path(o.uapi_dir) / (t.name + ".sock")).string());
  return read_kernel_wg(t.name);
}

// The peer's own overlay address: its first allowed IP of full length.
std::optional<IpAddress> overlay_address(const uapi::PeerSnapshot& p) {
  for (const auto& a : p.allowed_ips) {
    if (a.length == a.address.bits()) return a.address;
  }
  return std::nullopt;
}

}  // namespace

Result<uapi::DeviceSnapshot> read_kernel_wg(const std::string& ifname) {
  auto sock = io::GenlSocket::open();
  if (!sock) return tl::unexpected(sock.error());
  auto family = sock->transact(build_family_request(1), 1);
  if (!family) return tl::unexpected(family.error());
  std::optional<uint16_t> id;
  for (const auto& m : family->messages) {
    if (!id) id = parse_family_id(m);
  }
  if (family->error == ENOENT || (!id && family->error == 0)) {
    return fail(fmt::format(
        "{} has no UAPI socket and this kernel has no WireGuard module (generic netlink family "
        "\"wireguard\" not found): is it a WireGuard interface?",
        ifname));
  }
  if (family->error != 0 || !id) {
    return fail(fmt::format("looking up the kernel's WireGuard netlink family: {}",
                            std::strerror(family->error)));
  }
  auto reply = sock->transact(build_get_device(*id, 2, ifname), 2);
  if (!reply) return tl::unexpected(reply.error());
  if (reply->error == EPERM) {
    return fail(fmt::format("reading {} through netlink needs CAP_NET_ADMIN: run as root", ifname));
  }
  if (reply->error != 0) {
    return fail(fmt::format("WG_CMD_GET_DEVICE {}: {}", ifname, std::strerror(reply->error)));
  }
  WgNetlinkDevice d;
  for (const auto& m : reply->messages) {
    if (auto s = merge_device_message(m, d); !s) return tl::unexpected(s.error());
  }
  return d.device;
}

std::optional<Duration> wg_nat_lifetime(const Result<NatReport>& nat, Duration lifetime_max,
                                        std::string* note) {
  std::string text;
  std::optional<Duration> lifetime;
  if (!nat) {
    text = "NAT lifetime not measured: " + nat.error().message;
  } else if (!nat->lifetime || !nat->lifetime->error.empty()) {
    text = "NAT lifetime not measured: " +
           (nat->lifetime ? nat->lifetime->error : std::string("no search"));
  } else if (nat->lifetime->alive_max && nat->lifetime->dead_min) {
    lifetime = (*nat->lifetime->alive_max + *nat->lifetime->dead_min) / 2;
    text = fmt::format("NAT mapping lifetime measured: ~{} s",
                       std::chrono::duration_cast<std::chrono::seconds>(*lifetime).count());
  } else if (nat->lifetime->dead_min) {
    lifetime = *nat->lifetime->dead_min / 2;
    text = "NAT mapping lifetime measured: shorter than the shortest interval tested";
  } else {
    text = fmt::format("NAT mapping lifetime: at least {} s (the longest interval tested)",
                       std::chrono::duration_cast<std::chrono::seconds>(lifetime_max).count());
  }
  if (note) *note = text;
  return lifetime;
}

WgSampled sample_wg(const WgCheckOptions& o, const Progress& progress) {
  auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  const auto targets = find_interfaces(o);
  WgSampled out;
  auto& inputs = out.inputs;
  auto& errors = out.errors;
  errors.resize(targets.size());
  for (const auto& t : targets) {
    WgCheckInput in;
    in.ifname = t.name;
    in.source = t.uapi ? "uapi" : "kernel";
    in.mtu = interface_mtu(o, t.name);
    in.nat_lifetime = o.nat_lifetime;
    inputs.push_back(std::move(in));
  }
  if (targets.empty()) return out;
  const Instant start = io::monotonic_now();
  for (Instant next = start;; next += o.interval) {
    const Instant now = io::monotonic_now();
    if (next > now) std::this_thread::sleep_for(next - now);
    const Instant at = io::monotonic_now();
    const WallTime wall = io::wall_now();
    for (size_t i = 0; i < targets.size(); ++i) {
      if (!errors[i].empty()) continue;
      auto d = read_interface(o, targets[i]);
      if (!d) {
        errors[i] = d.error().message;
        continue;
      }
      inputs[i].samples.push_back(WgSample{at, wall, std::move(*d)});
    }
    const Duration elapsed = at - start;
    say(fmt::format("sampling {} interface(s): {} of {} s", targets.size(),
                    std::chrono::duration_cast<std::chrono::seconds>(elapsed).count(),
                    std::chrono::duration_cast<std::chrono::seconds>(o.duration).count()));
    if (elapsed >= o.duration) break;
  }
  if (o.df_ping) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!errors[i].empty() || inputs[i].samples.empty()) continue;
      for (const auto& peer : inputs[i].samples.back().device.peers) {
        auto target = overlay_address(peer);
        if (!target) continue;
        say(fmt::format("DF ping through {} to {}", inputs[i].ifname, target->to_string()));
        DfPingOptions po;
        po.target = *target;
        po.device = inputs[i].ifname;
        if (inputs[i].mtu) po.max_size = *inputs[i].mtu;
        po.budget = std::chrono::seconds(6);
        WgTunnelPing ping{*target, std::nullopt, ""};
        auto r = run_df_ping(po, {});
        if (!r) {
          ping.error = r.error().message;
        } else {
          ping.largest_answered = r->search.largest_answered;
        }
        inputs[i].pings[peer.public_key] = ping;
      }
    }
  }
  return out;
}

std::vector<WgInterfaceReport> judge_wg(const WgSampled& sampled,
                                        std::optional<Duration> nat_lifetime) {
  std::vector<WgInterfaceReport> out;
  for (size_t i = 0; i < sampled.inputs.size(); ++i) {
    WgCheckInput in = sampled.inputs[i];
    if (nat_lifetime) in.nat_lifetime = nat_lifetime;
    auto r = check_wg(in);
    if (!sampled.errors[i].empty()) r.error = sampled.errors[i];
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<WgInterfaceReport> run_wg_check(const WgCheckOptions& options, const Progress& progress,
                                            std::string* nat_note) {
  WgCheckOptions o = options;
  if (!o.nat_lifetime && !o.stun.empty()) {
    NatCheckOptions n;
    n.servers = o.stun;
    n.lifetime_max = o.lifetime_max;
    o.nat_lifetime = wg_nat_lifetime(check_nat(n, progress), o.lifetime_max, nat_note);
  }
  return judge_wg(sample_wg(o, progress), o.nat_lifetime);
}

}  // namespace tern::doctor
