// `tern doctor wg`'s I/O: finds the WireGuard interfaces (UAPI sockets in
// /var/run/wireguard, kernel ones by their sysfs device type), reads each one every second
// over the window (UAPI get=1, or WG_CMD_GET_DEVICE through generic netlink), then pings each
// peer's overlay address with DF through the tunnel, and hands the lot to check_wg.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "doctor/nat_report.hpp"
#include "doctor/relay_check.hpp"
#include "doctor/wg_check.hpp"
#include "doctor/wg_netlink.hpp"

namespace tern::doctor {

struct WgCheckOptions {
  std::optional<std::string> ifname;  // nullopt: every WireGuard interface
  Duration duration = std::chrono::seconds(30);
  Duration interval = std::chrono::seconds(1);
  std::optional<Duration> nat_lifetime;
  // Without nat_lifetime: STUN servers to measure it with first (`tern doctor nat`'s search).
  std::vector<std::string> stun;
  Duration lifetime_max = std::chrono::seconds(120);
  bool df_ping = true;
  std::string uapi_dir = "/var/run/wireguard";
  std::string sysfs_net = "/sys/class/net";
};

// `nat_note` tells what the lifetime measurement found when one ran.
[[nodiscard]] std::vector<WgInterfaceReport> run_wg_check(const WgCheckOptions& options,
                                                          const Progress& progress,
                                                          std::string* nat_note = nullptr);

// The halves of run_wg_check, for `tern doctor` run alone, which samples while the NAT's
// lifetime is measured and judges once both are done. sample_wg reads every interface over
// the window, then DF-pings each peer through the tunnel; `nat_lifetime` and `stun` are unused.
struct WgSampled {
  std::vector<WgCheckInput> inputs;  // one per interface found
  std::vector<std::string> errors;   // per input: why it could not be read ("" when it could)
};
[[nodiscard]] WgSampled sample_wg(const WgCheckOptions& options, const Progress& progress);
[[nodiscard]] std::vector<WgInterfaceReport> judge_wg(const WgSampled& sampled,
                                                      std::optional<Duration> nat_lifetime);
// The lifetime to hold keepalives against, from the NAT check's search (nullopt when it did
// not measure one); `note` says what it found.
[[nodiscard]] std::optional<Duration> wg_nat_lifetime(const Result<NatReport>& nat,
                                                      Duration lifetime_max, std::string* note);

// Reads a kernel WireGuard interface through generic netlink.
[[nodiscard]] Result<uapi::DeviceSnapshot> read_kernel_wg(const std::string& ifname);

}  // namespace tern::doctor
