#include "noise/path_probe_crypto.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "crypto/blake2s.hpp"
#include "crypto/memory.hpp"
#include "crypto/random.hpp"
#include "crypto/x25519.hpp"

namespace tern::noise {
namespace {

using wire::kPathProbeHeaderSize;
using wire::kPathProbeTagSize;

Bytes label_bytes(const char* label) {
  return Bytes(reinterpret_cast<const uint8_t*>(label), std::strlen(label));
}

// a || b, as one 64-byte input.
std::array<uint8_t, 2 * crypto::kKeySize> concat(const crypto::Key& a, const crypto::Key& b) {
  std::array<uint8_t, 2 * crypto::kKeySize> out{};
  std::copy(a.begin(), a.end(), out.begin());
  std::copy(b.begin(), b.end(), out.begin() + crypto::kKeySize);
  return out;
}

}  // namespace

void PathProbeKeys::wipe() {
  crypto::secure_wipe(key);
}

wire::ProbeHint path_probe_hint(const crypto::Key& from_public, const crypto::Key& to_public) {
  const crypto::Key h =
      crypto::hash(label_bytes(kLabelPathProbeHint), concat(from_public, to_public));
  wire::ProbeHint hint{};
  std::copy_n(h.begin(), hint.size(), hint.begin());
  return hint;
}

std::optional<PathProbeKeys> derive_path_probe_keys(const LocalIdentity& local,
                                                    const crypto::Key& remote_public,
                                                    const crypto::Key& preshared_key) {
  std::optional<crypto::Key> shared = crypto::dh(local.private_key, remote_public);
  if (!shared) return std::nullopt;
  // Both peers must build the same chaining key, so the public keys go in sorted order.
  const bool local_first = local.public_key < remote_public;
  const auto keys = local_first ? concat(local.public_key, remote_public)
                                : concat(remote_public, local.public_key);
  const crypto::Key chaining = crypto::hash(label_bytes(kLabelPathProbeKey), keys);
  auto input = concat(*shared, preshared_key);

  PathProbeKeys out;
  crypto::kdf1(out.key, chaining, input);
  out.send_hint = path_probe_hint(local.public_key, remote_public);
  out.receive_hint = path_probe_hint(remote_public, local.public_key);
  crypto::secure_wipe(*shared);
  crypto::secure_wipe(input);
  return out;
}

size_t seal_path_probe(const PathProbeKeys& keys, wire::ProbeType type,
                       const wire::PathProbeBody& body, size_t total_size, MutableBytes out) {
  crypto::XNonce nonce;
  crypto::random_bytes(nonce);
  return seal_path_probe(keys, type, body, total_size, nonce, out);
}

size_t seal_path_probe(const PathProbeKeys& keys, wire::ProbeType type,
                       const wire::PathProbeBody& body, size_t total_size,
                       const crypto::XNonce& nonce, MutableBytes out) {
  if (total_size < wire::kPathProbeMinSize || total_size > wire::kPathProbeMaxSize ||
      out.size() < total_size) {
    return 0;
  }
  wire::PathProbeHeader header;
  header.type = type;
  header.sender_hint = keys.send_hint;
  header.nonce = nonce;
  if (wire::serialize_path_probe_header(header, out) != kPathProbeHeaderSize) return 0;

  // Body and zero padding are written in place, then sealed in place.
  const size_t plain_size = total_size - kPathProbeHeaderSize - kPathProbeTagSize;
  MutableBytes plain = out.subspan(kPathProbeHeaderSize, plain_size);
  if (wire::serialize_path_probe_body(body, plain) != wire::kPathProbeBodySize) return 0;
  std::fill(plain.begin() + wire::kPathProbeBodySize, plain.end(), uint8_t{0});
  MutableBytes sealed = out.subspan(kPathProbeHeaderSize, plain_size + kPathProbeTagSize);
  if (!crypto::xaead_seal(keys.key, nonce, plain, out.first(kPathProbeHeaderSize), sealed)) {
    return 0;
  }
  return total_size;
}

std::optional<OpenedPathProbe> open_path_probe(const PathProbeKeys& keys, Bytes datagram,
                                               MutableBytes plaintext) {
  auto view = wire::parse_path_probe(datagram);
  if (!view || !crypto::equal_ct(view->header.sender_hint, keys.receive_hint)) return std::nullopt;
  const size_t plain_size = view->sealed.size() - kPathProbeTagSize;
  if (plaintext.size() < plain_size) return std::nullopt;
  MutableBytes plain = plaintext.first(plain_size);
  if (!crypto::xaead_open(keys.key, view->header.nonce, view->sealed, view->header_bytes, plain)) {
    return std::nullopt;
  }
  auto body = wire::parse_path_probe_body(plain);
  if (!body) return std::nullopt;
  return OpenedPathProbe{view->header.type, *body, datagram.size()};
}

}  // namespace tern::noise
