#include "wire/stun_builder.hpp"

#include <algorithm>
#include <cstring>

namespace tern::wire {
namespace {

void put_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

void put_u32(uint8_t* p, uint32_t v) {
  put_u16(p, static_cast<uint16_t>(v >> 16));
  put_u16(p + 2, static_cast<uint16_t>(v));
}

constexpr size_t padded(size_t n) {
  return (n + 3) & ~size_t{3};
}

}  // namespace

StunBuilder::StunBuilder(MutableBytes out, uint16_t type, const TransactionId& id)
    : out_(out), id_(id) {
  if (out_.size() < kStunHeaderSize || (type & 0xC000) != 0) {
    ok_ = false;
    return;
  }
  put_u16(out_.data(), type);
  put_u16(out_.data() + 2, 0);
  put_u32(out_.data() + 4, kStunMagicCookie);
  std::copy(id.begin(), id.end(), out_.begin() + 8);
  size_ = kStunHeaderSize;
}

void StunBuilder::set_length(size_t attributes_size) {
  put_u16(out_.data() + 2, static_cast<uint16_t>(attributes_size));
}

std::optional<MutableBytes> StunBuilder::reserve(uint16_t type, size_t size) {
  if (!ok_) return std::nullopt;
  const size_t total = kStunAttributeHeaderSize + padded(size);
  if (size > 0xFFFF || out_.size() - size_ < total || size_ + total - kStunHeaderSize > 0xFFFF) {
    ok_ = false;
    return std::nullopt;
  }
  uint8_t* p = out_.data() + size_;
  put_u16(p, type);
  put_u16(p + 2, static_cast<uint16_t>(size));
  std::memset(p + kStunAttributeHeaderSize + size, pad_, padded(size) - size);
  size_ += total;
  set_length(size_ - kStunHeaderSize);
  return MutableBytes(p + kStunAttributeHeaderSize, size);
}

StunBuilder& StunBuilder::add(uint16_t type, Bytes value) {
  if (auto v = reserve(type, value.size()); v && !value.empty()) {
    std::memcpy(v->data(), value.data(), value.size());
  }
  return *this;
}

StunBuilder& StunBuilder::add_text(StunAttr type, std::string_view text) {
  return add(to_u16(type), as_bytes(text));
}

StunBuilder& StunBuilder::add_address(StunAttr type, const Endpoint& e) {
  if (auto v = reserve(to_u16(type), address_value_size(e))) (void)encode_address(e, *v);
  return *this;
}

StunBuilder& StunBuilder::add_xor_address(StunAttr type, const Endpoint& e) {
  if (auto v = reserve(to_u16(type), address_value_size(e))) (void)encode_xor_address(e, id_, *v);
  return *this;
}

StunBuilder& StunBuilder::add_error_code(uint16_t code, std::string_view reason) {
  if (code < 300 || code > 699) {
    ok_ = false;
    return *this;
  }
  if (auto v = reserve(to_u16(StunAttr::kErrorCode), 4 + reason.size())) {
    put_u32(v->data(), (uint32_t{code / 100u} << 8) | (code % 100u));
    if (!reason.empty()) std::memcpy(v->data() + 4, reason.data(), reason.size());
  }
  return *this;
}

StunBuilder& StunBuilder::add_unknown_attributes(std::span<const uint16_t> types) {
  if (auto v = reserve(to_u16(StunAttr::kUnknownAttributes), 2 * types.size())) {
    for (size_t i = 0; i < types.size(); ++i)
      put_u16(v->data() + 2 * i, types[i]);
  }
  return *this;
}

StunBuilder& StunBuilder::add_u32(StunAttr type, uint32_t value) {
  if (auto v = reserve(to_u16(type), 4)) put_u32(v->data(), value);
  return *this;
}

StunBuilder& StunBuilder::add_requested_transport(uint8_t protocol) {
  return add_u32(StunAttr::kRequestedTransport, uint32_t{protocol} << 24);
}

StunBuilder& StunBuilder::add_address_family(IpAddress::Family family, StunAttr type) {
  const uint8_t f = family == IpAddress::Family::kV4 ? kStunFamilyIpv4 : kStunFamilyIpv6;
  return add_u32(type, uint32_t{f} << 24);
}

StunBuilder& StunBuilder::add_channel_number(uint16_t channel) {
  return add_u32(StunAttr::kChannelNumber, uint32_t{channel} << 16);
}

StunBuilder& StunBuilder::add_change_request(ChangeRequest r) {
  return add_u32(StunAttr::kChangeRequest, (r.change_ip ? 0x4u : 0u) | (r.change_port ? 0x2u : 0u));
}

StunBuilder& StunBuilder::add_password_algorithms(std::span<const PasswordAlgorithm> algorithms) {
  return add_algorithms(to_u16(StunAttr::kPasswordAlgorithms), algorithms);
}

StunBuilder& StunBuilder::add_password_algorithm(const PasswordAlgorithm& algorithm) {
  // The layout of one PASSWORD-ALGORITHMS entry, under its own type.
  return add_algorithms(to_u16(StunAttr::kPasswordAlgorithm),
                        std::span<const PasswordAlgorithm>(&algorithm, 1));
}

StunBuilder& StunBuilder::add_algorithms(uint16_t type,
                                         std::span<const PasswordAlgorithm> algorithms) {
  size_t size = 0;
  for (const auto& a : algorithms) {
    if (a.parameters.size() > 0xFFFF) {
      ok_ = false;
      return *this;
    }
    size += 4 + padded(a.parameters.size());
  }
  auto v = reserve(type, size);
  if (!v) return *this;
  uint8_t* p = v->data();
  for (const auto& a : algorithms) {
    const size_t n = a.parameters.size();
    put_u16(p, a.algorithm);
    put_u16(p + 2, static_cast<uint16_t>(n));
    if (n) std::memcpy(p + 4, a.parameters.data(), n);
    std::memset(p + 4 + n, 0, padded(n) - n);
    p += 4 + padded(n);
  }
  return *this;
}

std::optional<Bytes> StunBuilder::finish() const {
  if (!ok_) return std::nullopt;
  return bytes();
}

}  // namespace tern::wire
