#include "doctor/coturn_config.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace tern::doctor {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The last address of `prefix` (all host bits set).
IpAddress last_of(const IpPrefix& prefix) {
  std::array<uint8_t, 16> b{};
  const size_t n = prefix.address.size();
  std::copy_n(prefix.address.data(), n, b.begin());
  for (size_t bit = prefix.length; bit < n * 8; ++bit) {
    b[bit / 8] = static_cast<uint8_t>(b[bit / 8] | (0x80u >> (bit % 8)));
  }
  if (prefix.address.is_v4()) return IpAddress::v4({b[0], b[1], b[2], b[3]});
  return IpAddress::v6(b);
}

IpAddress first_of(const IpPrefix& prefix) {
  std::array<uint8_t, 16> b{};
  const size_t n = prefix.address.size();
  std::copy_n(prefix.address.data(), n, b.begin());
  for (size_t bit = prefix.length; bit < n * 8; ++bit) {
    b[bit / 8] = static_cast<uint8_t>(b[bit / 8] & ~(0x80u >> (bit % 8)));
  }
  if (prefix.address.is_v4()) return IpAddress::v4({b[0], b[1], b[2], b[3]});
  return IpAddress::v6(b);
}

}  // namespace

bool CoturnConfig::has(std::string_view name) const {
  return std::any_of(options.begin(), options.end(),
                     [&](const CoturnOption& o) { return o.name == name; });
}

std::optional<std::string> CoturnConfig::value(std::string_view name) const {
  for (auto it = options.rbegin(); it != options.rend(); ++it) {
    if (it->name == name) return it->value;
  }
  return std::nullopt;
}

std::vector<std::string> CoturnConfig::values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& o : options) {
    if (o.name == name) out.push_back(o.value);
  }
  return out;
}

Result<CoturnConfig> parse_coturn_config(std::string_view text) {
  if (text.size() > kCoturnConfigMaxBytes) {
    return fail(fmt::format("the file is larger than {} bytes", kCoturnConfigMaxBytes));
  }
  if (text.find('\0') != std::string_view::npos) return fail("the file is not text (a NUL byte)");
  CoturnConfig config;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line_no;
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = trim(line);
    if (line.empty()) continue;
    if (line.starts_with("--")) line.remove_prefix(2);
    size_t split = line.find_first_of("= \t");
    std::string_view name = trim(line.substr(0, split));
    std::string_view value;
    if (split != std::string_view::npos) {
      value = trim(line.substr(split + 1));
      if (line[split] != '=' && value.starts_with('=')) value = trim(value.substr(1));
    }
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (name.empty()) continue;
    if (config.options.size() >= kCoturnConfigMaxOptions) {
      return fail(fmt::format("more than {} options", kCoturnConfigMaxOptions));
    }
    config.options.push_back({lower(name), std::string(value), line_no});
  }
  return config;
}

bool AddressRange::contains(const IpAddress& a) const {
  const IpAddress u = a.unmapped();
  return u.family() == first.family() && first <= u && u <= last;
}

std::string AddressRange::to_string() const {
  if (first == last) return first.to_string();
  return first.to_string() + "-" + last.to_string();
}

std::optional<AddressRange> parse_address_range(std::string_view text) {
  text = trim(text);
  if (const size_t dash = text.find('-'); dash != std::string_view::npos) {
    auto a = IpAddress::parse(trim(text.substr(0, dash)));
    auto b = IpAddress::parse(trim(text.substr(dash + 1)));
    if (!a || !b || a->family() != b->family() || *b < *a) return std::nullopt;
    return AddressRange{*a, *b};
  }
  if (text.find('/') != std::string_view::npos) {
    auto p = IpPrefix::parse(text);
    if (!p) return std::nullopt;
    return AddressRange{first_of(*p), last_of(*p)};
  }
  auto a = IpAddress::parse(text);
  if (!a) return std::nullopt;
  return AddressRange{*a, *a};
}

}  // namespace tern::doctor
