#include "noise/transport.hpp"

#include <algorithm>

#include "crypto/aead.hpp"

namespace tern::noise {

size_t padded_length(size_t length, size_t mtu) {
  const size_t padded = (length + kPaddingMultiple - 1) / kPaddingMultiple * kPaddingMultiple;
  if (length > mtu) return length;  // oversized already; never grow it further
  return std::min(padded, mtu);
}

size_t encrypt_transport(const crypto::Key& send_key, uint32_t receiver_index, uint64_t counter,
                         Bytes plaintext, MutableBytes out) {
  if (out.size() < wire::kTransportHeaderSize ||
      out.size() - wire::kTransportHeaderSize < plaintext.size() + crypto::kAeadTagSize) {
    return 0;
  }
  // Encrypt first: with in-place use the plaintext sits right after the header.
  if (!crypto::aead_seal(send_key, counter, plaintext, {},
                         out.subspan(wire::kTransportHeaderSize))) {
    return 0;
  }
  (void)wire::serialize_transport_header(receiver_index, counter, out);
  return wire::kTransportOverhead + plaintext.size();
}

std::optional<size_t> decrypt_transport(const crypto::Key& recv_key, const wire::TransportView& msg,
                                        MutableBytes out) {
  if (msg.encrypted.size() < crypto::kAeadTagSize) return std::nullopt;
  if (!crypto::aead_open(recv_key, msg.counter, msg.encrypted, {}, out)) return std::nullopt;
  return msg.encrypted.size() - crypto::kAeadTagSize;
}

}  // namespace tern::noise
