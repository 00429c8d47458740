// Everything the device knows about one peer: its keys, handshake and cookie
// state, up to three sessions (previous, current, next, as the kernel keeps
// them), the endpoint learned from authenticated packets, timers, packets
// staged while a handshake runs, the path MTU state (peer_path.hpp), and counters.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "base/drop_reason.hpp"
#include "base/ip.hpp"
#include "base/time.hpp"
#include "core/keypair.hpp"
#include "core/peer_path.hpp"
#include "core/peer_timers.hpp"
#include "crypto/key.hpp"
#include "noise/cookie.hpp"
#include "noise/handshake.hpp"

namespace tern::core {

using PeerId = uint32_t;

struct TrafficCounters {
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  uint64_t rx_packets = 0;
  uint64_t tx_packets = 0;
};

struct Peer {
  Peer(PeerId peer_id, const noise::LocalIdentity& local, const crypto::Key& remote_static)
      : id(peer_id),
        public_key(remote_static),
        handshake(local, remote_static),
        macs(remote_static) {}

  // The session that has this local (receiver) index, if any.
  Keypair* keypair_for_index(uint32_t index) {
    for (Keypair* k : {current.get(), next.get(), previous.get()}) {
      if (k && k->keys.local_index == index) return k;
    }
    return nullptr;
  }

  PeerId id;
  crypto::Key public_key;
  crypto::Key preshared_key{};
  noise::Handshake handshake;
  noise::MacGenerator macs;
  std::optional<uint32_t> handshake_index;  // local index of our pending initiation

  std::unique_ptr<Keypair> current;
  std::unique_ptr<Keypair> previous;
  std::unique_ptr<Keypair> next;  // responder's new session, unconfirmed until data arrives

  std::optional<Endpoint> endpoint;
  PeerTimers timers;
  uint16_t persistent_keepalive = 0;  // seconds, 0 = off

  std::deque<std::vector<uint8_t>> staged;  // IP packets waiting for a session
  std::optional<Instant> last_initiation_sent;
  std::optional<Instant> last_initiation_consumed;
  bool sent_lastminute_handshake = false;
  std::optional<WallTime> last_handshake;

  PeerPath path;

  TrafficCounters traffic;
  DropCounters drops;
};

}  // namespace tern::core
