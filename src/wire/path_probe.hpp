// Path probes, version 1 (docs/path-probes.md): tern's own ping/pong between peers, on the
// same UDP socket as WireGuard, sealed with a key both peers derive from their static keys
// (noise/path_probe_crypto.hpp) so they work before any WireGuard session exists. A ping is
// padded to the size under test (PMTU search) and a pong names the ping it answers by its
// transaction id (PMTU acknowledgement, path validation). This file is the byte codec only.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |      0xF4     |   0x65 'e'    |   0x72 'r'    |   0x6E 'n'    |  0  magic
//   +---------------+---------------+---------------+---------------+
//   |  version = 1  |     type      |           flags = 0           |  4
//   +---------------+---------------+-------------------------------+
//   |                  sender hint (8 bytes)                        |  8
//   +---------------------------------------------------------------+
//   |                  nonce (24 bytes)                             | 16
//   +---------------------------------------------------------------+
//   |   sealed: XChaCha20-Poly1305(body || padding), header as AD   | 40
//   |                  ... tag (16 bytes)                           |
//   +---------------------------------------------------------------+
//
// type: 1 = ping, 2 = pong. flags: none defined, sent as 0.
//
// Body (inside the seal, 36 bytes, big-endian):
//    0 transaction id (12)   12 overlay MTU (2)   14 answered size (2)
//   16 observed family (1: 0 none, 4, 6)   17 reserved (1) = 0   18 observed port (2)
//   20 observed address (16; IPv4 in the first 4 bytes, the rest zero)
//   36 padding (sent as zeros, ignored) up to the message's total size
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "base/bytes.hpp"
#include "base/ip.hpp"

namespace tern::wire {

// The first byte has its top bit set: never WireGuard (1..4), STUN (top bits 00) or TURN
// ChannelData (0x40..0x7F). "tern" with the high bit of the 't' set.
inline constexpr std::array<uint8_t, 4> kPathProbeMagic = {0xF4, 0x65, 0x72, 0x6E};
inline constexpr uint8_t kPathProbeVersion = 1;

inline constexpr size_t kProbeHintSize = 8;
inline constexpr size_t kProbeNonceSize = 24;
inline constexpr size_t kProbeTxIdSize = 12;
inline constexpr size_t kPathProbeHeaderSize = 40;
inline constexpr size_t kPathProbeBodySize = 36;
inline constexpr size_t kPathProbeTagSize = 16;
inline constexpr size_t kPathProbeMinSize =
    kPathProbeHeaderSize + kPathProbeBodySize + kPathProbeTagSize;  // 92
// The largest UDP payload over IPv4; sizes travel as 16-bit fields.
inline constexpr size_t kPathProbeMaxSize = 65507;

enum class ProbeType : uint8_t { kPing = 1, kPong = 2 };

using ProbeHint = std::array<uint8_t, kProbeHintSize>;
using ProbeNonce = std::array<uint8_t, kProbeNonceSize>;
using ProbeTxId = std::array<uint8_t, kProbeTxIdSize>;

struct PathProbeHeader {
  ProbeType type = ProbeType::kPing;
  uint16_t flags = 0;  // none defined in version 1; sent as 0, authenticated, ignored
  ProbeHint sender_hint{};
  ProbeNonce nonce{};

  bool operator==(const PathProbeHeader&) const = default;
};

// A received probe before opening; both spans point into the datagram.
struct PathProbeView {
  PathProbeHeader header;
  Bytes header_bytes;  // the 40 header bytes, authenticated as additional data
  Bytes sealed;        // body || padding || tag: at least 52 bytes
};

struct PathProbeBody {
  ProbeTxId tx_id{};
  // The sender's overlay (inner packet) MTU, for the per-peer MTU agreement; 0 = not announced.
  uint16_t overlay_mtu = 0;
  // Pong: the total size of the ping it answers, as it arrived. Ping: 0.
  uint16_t answered_size = 0;
  // Pong: the address and port the ping came from, as the answering peer saw them
  // (a peer-reflexive candidate for path discovery). Ping: none.
  std::optional<Endpoint> observed;

  bool operator==(const PathProbeBody&) const = default;
};

// True when the datagram starts with the magic (any version): the demultiplexer's test.
// Such a datagram is a path probe or is dropped as malformed; it is never anything else.
[[nodiscard]] bool is_path_probe(Bytes datagram);

// nullopt unless: the magic, version 1, a known type, and kPathProbeMinSize..kPathProbeMaxSize
// bytes in total.
[[nodiscard]] std::optional<PathProbeView> parse_path_probe(Bytes datagram);

// Writes the 40-byte header; returns 40, or 0 if `out` is too small.
[[nodiscard]] size_t serialize_path_probe_header(const PathProbeHeader& header, MutableBytes out);

// Reads the 36-byte body at the start of a decrypted plaintext; what follows is padding.
// nullopt when shorter, or a field is out of range (family, non-zero reserved or unused
// address bytes), so every accepted body has exactly one encoding.
[[nodiscard]] std::optional<PathProbeBody> parse_path_probe_body(Bytes plaintext);

// Writes the 36-byte body; returns 36, or 0 if `out` is too small.
[[nodiscard]] size_t serialize_path_probe_body(const PathProbeBody& body, MutableBytes out);

}  // namespace tern::wire
