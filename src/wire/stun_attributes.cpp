#include "wire/stun_attributes.hpp"

#include <algorithm>

namespace tern::wire {
namespace {

// The 16 bytes an address is XORed with: the cookie, then the transaction id (IPv6).
std::array<uint8_t, 16> xor_mask(const TransactionId& id) {
  std::array<uint8_t, 16> mask{0x21, 0x12, 0xA4, 0x42};
  std::copy(id.begin(), id.end(), mask.begin() + 4);
  return mask;
}

std::optional<Endpoint> read_address(Bytes value, const std::array<uint8_t, 16>* mask) {
  ByteReader r(value);
  auto reserved = r.u8();  // must be ignored by receivers
  auto family = r.u8();
  auto port = r.u16_be();
  if (!reserved || !family || !port) return std::nullopt;
  const uint16_t xport = mask ? static_cast<uint16_t>((kStunMagicCookie >> 16)) : 0;
  Endpoint e;
  e.port = static_cast<uint16_t>(*port ^ xport);
  if (*family == kStunFamilyIpv4 && r.remaining() == 4) {
    std::array<uint8_t, 4> a;
    for (size_t i = 0; i < 4; ++i)
      a[i] = static_cast<uint8_t>(value[4 + i] ^ (mask ? (*mask)[i] : 0));
    e.address = IpAddress::v4(a);
    return e;
  }
  if (*family == kStunFamilyIpv6 && r.remaining() == 16) {
    std::array<uint8_t, 16> a;
    for (size_t i = 0; i < 16; ++i)
      a[i] = static_cast<uint8_t>(value[4 + i] ^ (mask ? (*mask)[i] : 0));
    e.address = IpAddress::v6(a);
    return e;
  }
  return std::nullopt;
}

size_t write_address(const Endpoint& e, const std::array<uint8_t, 16>* mask, MutableBytes out) {
  const size_t n = address_value_size(e);
  if (out.size() < n) return 0;
  const uint16_t xport = mask ? static_cast<uint16_t>((kStunMagicCookie >> 16)) : 0;
  const auto port = static_cast<uint16_t>(e.port ^ xport);
  out[0] = 0;
  out[1] = e.address.is_v4() ? kStunFamilyIpv4 : kStunFamilyIpv6;
  out[2] = static_cast<uint8_t>(port >> 8);
  out[3] = static_cast<uint8_t>(port);
  for (size_t i = 0; i < e.address.size(); ++i)
    out[4 + i] = static_cast<uint8_t>(e.address.data()[i] ^ (mask ? (*mask)[i] : 0));
  return n;
}

// A 32-bit value whose first byte matters and whose other three are reserved (RFFU).
std::optional<uint8_t> first_of_four(Bytes value) {
  if (value.size() != 4) return std::nullopt;
  return value[0];
}

}  // namespace

std::optional<Endpoint> decode_address(Bytes value) {
  return read_address(value, nullptr);
}

std::optional<Endpoint> decode_xor_address(Bytes value, const TransactionId& id) {
  const auto mask = xor_mask(id);
  return read_address(value, &mask);
}

size_t encode_address(const Endpoint& e, MutableBytes out) {
  return write_address(e, nullptr, out);
}

size_t encode_xor_address(const Endpoint& e, const TransactionId& id, MutableBytes out) {
  const auto mask = xor_mask(id);
  return write_address(e, &mask, out);
}

std::optional<std::string_view> decode_text(Bytes value, size_t max_size) {
  if (value.size() > max_size) return std::nullopt;
  return as_text(value);
}

std::optional<StunErrorCode> decode_error_code(Bytes value) {
  ByteReader r(value);
  auto head = r.u32_be();
  if (!head) return std::nullopt;
  const uint32_t cls = (*head >> 8) & 0x7;
  const uint32_t number = *head & 0xFF;
  // §14.8: class 3..6, number 0..99; the reserved bits are ignored.
  if (cls < 3 || cls > 6 || number > 99) return std::nullopt;
  Bytes reason = r.rest();
  if (reason.size() > kStunMaxText) return std::nullopt;
  return StunErrorCode{static_cast<uint16_t>(cls * 100 + number), as_text(reason)};
}

std::optional<U16List> decode_unknown_attributes(Bytes value) {
  if (value.size() % 2 != 0) return std::nullopt;
  return U16List(value);
}

std::optional<uint32_t> decode_u32(Bytes value) {
  if (value.size() != 4) return std::nullopt;
  return ByteReader(value).u32_be();
}

std::optional<uint8_t> decode_requested_transport(Bytes value) {
  return first_of_four(value);
}

std::optional<IpAddress::Family> decode_address_family(Bytes value) {
  auto f = first_of_four(value);
  if (f == kStunFamilyIpv4) return IpAddress::Family::kV4;
  if (f == kStunFamilyIpv6) return IpAddress::Family::kV6;
  return std::nullopt;
}

std::optional<uint16_t> decode_channel_number(Bytes value) {
  if (value.size() != 4) return std::nullopt;
  return ByteReader(value).u16_be();
}

std::optional<ChangeRequest> decode_change_request(Bytes value) {
  auto v = decode_u32(value);
  if (!v) return std::nullopt;
  return ChangeRequest{(*v & 0x4) != 0, (*v & 0x2) != 0};
}

std::optional<Userhash> decode_userhash(Bytes value) {
  if (value.size() != kUserhashSize) return std::nullopt;
  Userhash h;
  std::copy(value.begin(), value.end(), h.begin());
  return h;
}

std::optional<size_t> decode_password_algorithms(Bytes value, std::span<PasswordAlgorithm> out) {
  ByteReader r(value);
  size_t count = 0;
  while (!r.empty()) {
    auto algorithm = r.u16_be();
    auto length = r.u16_be();
    if (!algorithm || !length) return std::nullopt;
    auto params = r.take(*length);
    if (!params) return std::nullopt;
    // Parameters are padded to 4; tolerate a missing pad after the last entry.
    (void)r.take(std::min<size_t>((size_t{4} - *length % 4u) % 4u, r.remaining()));
    if (count < out.size()) out[count] = PasswordAlgorithm{*algorithm, *params};
    ++count;
  }
  return count;
}

std::optional<PasswordAlgorithm> decode_password_algorithm(Bytes value) {
  PasswordAlgorithm one;
  auto n = decode_password_algorithms(value, std::span<PasswordAlgorithm>(&one, 1));
  if (n != 1u) return std::nullopt;
  return one;
}

}  // namespace tern::wire
