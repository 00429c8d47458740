// Sealing and opening path probes (wire/path_probe.hpp, docs/path-probes.md). Probes need no
// WireGuard session: both peers derive one key per pair, once, from their static keys
//   key = KDF1(HASH(label || lower public key || higher public key), DH(s_local, S_remote) || psk)
// and seal each probe with XChaCha20-Poly1305 under a random 24-byte nonce, with the header
// as additional data. The sender is named by an 8-byte hint that depends on both keys and
// the direction, so the receiver finds the peer with one lookup and a reflected probe fails.
#pragma once

#include <optional>

#include "base/bytes.hpp"
#include "crypto/aead.hpp"
#include "crypto/key.hpp"
#include "noise/identity.hpp"
#include "wire/path_probe.hpp"

namespace tern::noise {

inline constexpr char kLabelPathProbeKey[] = "tern path probe v1 key";
inline constexpr char kLabelPathProbeHint[] = "tern path probe v1 hint";

// Everything a device keeps per peer for probes; derived when the peer is added.
struct PathProbeKeys {
  crypto::Key key{};               // the pair's AEAD key, the same in both directions
  wire::ProbeHint send_hint{};     // goes into probes we send to this peer
  wire::ProbeHint receive_hint{};  // arrives in probes this peer sends to us

  void wipe();
};

// HASH(label || from || to)[0..8): the hint in probes sent by `from` to `to`.
[[nodiscard]] wire::ProbeHint path_probe_hint(const crypto::Key& from_public,
                                              const crypto::Key& to_public);

// nullopt when the DH gives zero (the remote key is a low-order point). `preshared_key` is
// the peer's WireGuard PSK (all zeros when none), mixed in as WireGuard mixes it.
[[nodiscard]] std::optional<PathProbeKeys> derive_path_probe_keys(
    const LocalIdentity& local, const crypto::Key& remote_public,
    const crypto::Key& preshared_key = {});

// Writes a probe of exactly `total_size` bytes to out[0..total_size): header, the body, zero
// padding, tag. Returns total_size, or 0 if total_size is outside
// [kPathProbeMinSize, kPathProbeMaxSize] or `out` is too small. The nonce is random.
[[nodiscard]] size_t seal_path_probe(const PathProbeKeys& keys, wire::ProbeType type,
                                     const wire::PathProbeBody& body, size_t total_size,
                                     MutableBytes out);
// The same with a given nonce: for tests and seed corpora only (a nonce must never repeat).
[[nodiscard]] size_t seal_path_probe(const PathProbeKeys& keys, wire::ProbeType type,
                                     const wire::PathProbeBody& body, size_t total_size,
                                     const crypto::XNonce& nonce, MutableBytes out);

struct OpenedPathProbe {
  wire::ProbeType type = wire::ProbeType::kPing;
  wire::PathProbeBody body;
  size_t size = 0;  // the whole message, padding included
};

// Opens a probe from the peer `keys` belongs to: a well-formed version-1 message whose hint
// is keys.receive_hint and whose seal verifies. `plaintext` is scratch space of at least
// datagram.size() - kPathProbeHeaderSize - kPathProbeTagSize bytes; the datagram is left
// untouched, so a caller may try another peer's keys. nullopt on any failure.
[[nodiscard]] std::optional<OpenedPathProbe> open_path_probe(const PathProbeKeys& keys,
                                                             Bytes datagram,
                                                             MutableBytes plaintext);

}  // namespace tern::noise
