#include "base/ip.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace tern {

IpAddress IpAddress::v4(std::array<uint8_t, 4> b) {
  IpAddress a;
  a.family_ = Family::kV4;
  std::memcpy(a.bytes_.data(), b.data(), 4);
  return a;
}

IpAddress IpAddress::v4(uint32_t host_order) {
  return v4({static_cast<uint8_t>(host_order >> 24), static_cast<uint8_t>(host_order >> 16),
             static_cast<uint8_t>(host_order >> 8), static_cast<uint8_t>(host_order)});
}

IpAddress IpAddress::v6(std::array<uint8_t, 16> b) {
  IpAddress a;
  a.family_ = Family::kV6;
  a.bytes_ = b;
  return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  char buf[65];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::array<uint8_t, 16> b{};
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, b.data()) != 1) return std::nullopt;
    return v4({b[0], b[1], b[2], b[3]});
  }
  if (inet_pton(AF_INET6, buf, b.data()) != 1) return std::nullopt;
  return v6(b);
}

uint32_t IpAddress::v4_host_order() const {
  return (uint32_t{bytes_[0]} << 24) | (uint32_t{bytes_[1]} << 16) | (uint32_t{bytes_[2]} << 8) |
         uint32_t{bytes_[3]};
}

IpAddress IpAddress::unmapped() const {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (is_v6() && std::memcmp(bytes_.data(), kMapped, 12) == 0) {
    return v4({bytes_[12], bytes_[13], bytes_[14], bytes_[15]});
  }
  return *this;
}

bool IpAddress::is_unspecified() const {
  for (size_t i = 0; i < size(); ++i) {
    if (bytes_[i] != 0) return false;
  }
  return true;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
  size_t slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  unsigned len = addr->bits();
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (ec != std::errc() || p != digits.data() + digits.size() || len > addr->bits()) {
      return std::nullopt;
    }
  }
  return IpPrefix{*addr, static_cast<uint8_t>(len)};
}

IpPrefix IpPrefix::masked() const {
  std::array<uint8_t, 16> b{};
  std::memcpy(b.data(), address.data(), address.size());
  for (unsigned i = 0; i < address.size(); ++i) {
    unsigned bit = i * 8;
    if (bit >= length) {
      b[i] = 0;
    } else if (length - bit < 8) {
      b[i] &= static_cast<uint8_t>(0xff << (8 - (length - bit)));
    }
  }
  IpAddress a = address.is_v4() ? IpAddress::v4({b[0], b[1], b[2], b[3]}) : IpAddress::v6(b);
  return IpPrefix{a, length};
}

bool IpPrefix::contains(const IpAddress& a) const {
  if (a.family() != address.family()) return false;
  return IpPrefix{a, length}.masked().address == masked().address;
}

std::string IpPrefix::to_string() const {
  std::string out = address.to_string();
  out.push_back('/');
  out.append(std::to_string(length));
  return out;
}

std::optional<Endpoint> Endpoint::parse(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
  }
  auto addr = IpAddress::parse(host);
  if (!addr || port.empty() || port.size() > 5) return std::nullopt;
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p > 65535) return std::nullopt;
  return Endpoint{*addr, static_cast<uint16_t>(p)};
}

std::string Endpoint::to_string() const {
  std::string out;
  out.reserve(INET6_ADDRSTRLEN + 8);
  if (address.is_v6()) out.push_back('[');
  out.append(address.to_string());
  if (address.is_v6()) out.push_back(']');
  out.push_back(':');
  out.append(std::to_string(port));
  return out;
}

}  // namespace tern
