// Transport data messages (whitepaper §5.4.6): the hot path of the data plane.
// Encryption writes header || ChaCha20-Poly1305(plaintext) with the counter as the
// nonce; decryption checks only the tag. Counters (REJECT_AFTER_MESSAGES, replay
// window) and key lifetimes are the caller's: see noise/replay_window.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "base/bytes.hpp"
#include "crypto/key.hpp"
#include "wire/wireguard.hpp"

namespace tern::noise {

inline constexpr size_t kPaddingMultiple = 16;
inline constexpr size_t kTransportOverhead = wire::kTransportOverhead;  // 32

// The plaintext length a packet of `length` bytes is zero-padded to before
// encryption: up to a multiple of 16, but never beyond `mtu` (kernel's
// calculate_skb_padding). Keepalives (length 0) stay empty.
[[nodiscard]] size_t padded_length(size_t length, size_t mtu);

// Writes the 16-byte header, then `plaintext` encrypted, then the tag into out and
// returns 32 + plaintext.size(); 0 if `out` is too small. In place: plaintext may
// sit at exactly out.data() + 16.
[[nodiscard]] size_t encrypt_transport(const crypto::Key& send_key, uint32_t receiver_index,
                                       uint64_t counter, Bytes plaintext, MutableBytes out);

// Decrypts msg.encrypted into out and returns the plaintext length (padding
// included); nullopt if authentication fails or `out` is too small. In place:
// out.data() may equal msg.encrypted.data().
[[nodiscard]] std::optional<size_t> decrypt_transport(const crypto::Key& recv_key,
                                                      const wire::TransportView& msg,
                                                      MutableBytes out);

}  // namespace tern::noise
