// The "get=1" operation of the WireGuard UAPI: the device's state as the
// key=value lines `wg show` and `wg showconf` read, in the order wireguard-go
// writes them (device/uapi.go, IpcGetOperation), ending with "errno=0" and an
// empty line.
//
//   private_key=<64 hex>              only when set
//   listen_port=51820                 only when not 0
//   fwmark=...                        only when not 0
//   public_key=<64 hex>               then, for each peer:
//   preshared_key=<64 hex>            zeros when none
//   protocol_version=1
//   endpoint=192.0.2.1:51820          only when known
//   last_handshake_time_sec=...       0 when never
//   last_handshake_time_nsec=...
//   tx_bytes=...
//   rx_bytes=...
//   persistent_keepalive_interval=...
//   allowed_ip=10.0.0.2/32            one line each
//   errno=0
//   (empty line)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/ip.hpp"
#include "base/time.hpp"
#include "crypto/key.hpp"

namespace tern::uapi {

struct PeerSnapshot {
  crypto::Key public_key{};
  std::optional<crypto::Key> preshared_key;
  std::optional<Endpoint> endpoint;
  // Wall-clock time of the last completed handshake; zero when there was none.
  int64_t last_handshake_time_sec = 0;
  int64_t last_handshake_time_nsec = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  uint16_t persistent_keepalive_interval = 0;
  std::vector<IpPrefix> allowed_ips;

  void set_last_handshake(WallTime t) {
    last_handshake_time_sec = t.unix_ns / 1'000'000'000;
    last_handshake_time_nsec = t.unix_ns % 1'000'000'000;
  }
};

struct DeviceSnapshot {
  std::optional<crypto::Key> private_key;
  uint16_t listen_port = 0;
  uint32_t fwmark = 0;
  std::vector<PeerSnapshot> peers;
};

std::string format_get(const DeviceSnapshot& device);

}  // namespace tern::uapi
