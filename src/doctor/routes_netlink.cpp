#include "doctor/routes_netlink.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace tern::doctor {
namespace {

constexpr size_t kNlmsgHeader = 16;
constexpr size_t kIfinfomsg = 16;
constexpr size_t kIfaddrmsg = 8;
constexpr size_t kRtmsg = 12;
constexpr size_t kFibRuleHdr = 12;
constexpr size_t kRtnexthop = 8;
constexpr uint16_t kNlaTypeMask = 0x3FFF;

constexpr uint16_t kIflaIfname = 3;
constexpr uint16_t kIfaAddress = 1;
constexpr uint16_t kIfaLocal = 2;
constexpr uint16_t kRtaDst = 1;
constexpr uint16_t kRtaOif = 4;
constexpr uint16_t kRtaGateway = 5;
constexpr uint16_t kRtaPriority = 6;
constexpr uint16_t kRtaMultipath = 9;
constexpr uint16_t kRtaTable = 15;
constexpr uint32_t kRtnhFDead = 1;
enum : uint16_t {
  kFraDst = 1,
  kFraSrc = 2,
  kFraIifname = 3,
  kFraGoto = 4,
  kFraPriority = 6,
  kFraFwmark = 10,
  kFraFlow = 11,
  kFraTunId = 12,
  kFraSuppressIfgroup = 13,
  kFraSuppressPrefixlen = 14,
  kFraTable = 15,
  kFraFwmask = 16,
  kFraOifname = 17,
  kFraL3mdev = 19,
  kFraUidRange = 20,
  kFraIpProto = 22,
  kFraSportRange = 23,
  kFraDportRange = 24,
};
constexpr uint32_t kFibRuleInvert = 2;

size_t align4(size_t n) {
  return (n + 3) & ~size_t{3};
}

template <class T>
T native(Bytes b) {
  T v{};
  std::memcpy(&v, b.data(), sizeof v);
  return v;
}

struct Attr {
  uint16_t type = 0;
  Bytes value;
};

// Every attribute of `data`, or nullopt when one overruns.
std::optional<std::vector<Attr>> attributes(Bytes data) {
  std::vector<Attr> out;
  size_t pos = 0;
  while (pos < data.size()) {
    if (data.size() - pos < 4) return std::nullopt;
    const auto len = native<uint16_t>(data.subspan(pos, 2));
    const auto type = native<uint16_t>(data.subspan(pos + 2, 2));
    if (len < 4 || len > data.size() - pos) return std::nullopt;
    out.push_back({static_cast<uint16_t>(type & kNlaTypeMask), data.subspan(pos + 4, len - 4)});
    pos = std::min(data.size(), pos + align4(len));
  }
  return out;
}

std::optional<IpAddress::Family> family_of(uint8_t af) {
  if (af == rtnl::kAfInet) return IpAddress::Family::kV4;
  if (af == rtnl::kAfInet6) return IpAddress::Family::kV6;
  return std::nullopt;
}

std::optional<IpAddress> address(Bytes b, IpAddress::Family f) {
  if (f == IpAddress::Family::kV4) {
    if (b.size() != 4) return std::nullopt;
    return IpAddress::v4(std::array<uint8_t, 4>{b[0], b[1], b[2], b[3]});
  }
  if (b.size() != 16) return std::nullopt;
  std::array<uint8_t, 16> a{};
  std::copy(b.begin(), b.end(), a.begin());
  return IpAddress::v6(a);
}

std::optional<uint32_t> u32(const Attr& a) {
  if (a.value.size() != 4) return std::nullopt;
  return native<uint32_t>(a.value);
}

std::string text(const Attr& a) {
  std::string s(reinterpret_cast<const char*>(a.value.data()), a.value.size());
  if (auto nul = s.find('\0'); nul != std::string::npos) s.resize(nul);
  // Interface names are printable ASCII on any sane system; the report must stay valid UTF-8.
  for (char& c : s) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return s;
}

Status broken(const char* what, const char* why) {
  return fail(fmt::format("rtnetlink: a {} message {}", what, why));
}

Status merge_link(Bytes body, NetState& state) {
  if (body.size() < kIfinfomsg) return broken("link", "is shorter than its header");
  const auto index = native<int32_t>(body.subspan(4, 4));
  auto attrs = attributes(body.subspan(kIfinfomsg));
  if (!attrs) return broken("link", "has an attribute that overruns it");
  NetLink link{static_cast<uint32_t>(index), ""};
  for (const auto& a : *attrs) {
    if (a.type == kIflaIfname) link.name = text(a);
  }
  state.links.push_back(std::move(link));
  return {};
}

Status merge_address(Bytes body, NetState& state) {
  if (body.size() < kIfaddrmsg) return broken("address", "is shorter than its header");
  auto family = family_of(body[0]);
  if (!family) return {};
  const uint8_t length = body[1];
  if (length > (*family == IpAddress::Family::kV4 ? 32 : 128)) {
    return broken("address", "has a prefix longer than its family's addresses");
  }
  const auto index = native<uint32_t>(body.subspan(4, 4));
  auto attrs = attributes(body.subspan(kIfaddrmsg));
  if (!attrs) return broken("address", "has an attribute that overruns it");
  std::optional<IpAddress> local, addr;
  for (const auto& a : *attrs) {
    if (a.type == kIfaLocal) local = address(a.value, *family);
    if (a.type == kIfaAddress) addr = address(a.value, *family);
  }
  if (!local) local = addr;
  if (!local) return broken("address", "carries no address of its family's size");
  state.addresses.push_back({index, IpPrefix{*local, length}});
  return {};
}

Status merge_route(Bytes body, NetState& state) {
  if (body.size() < kRtmsg) return broken("route", "is shorter than its header");
  auto family = family_of(body[0]);
  if (!family) return {};
  NetRoute r;
  const uint8_t length = body[1];
  if (length > (*family == IpAddress::Family::kV4 ? 32 : 128)) {
    return broken("route", "has a prefix longer than its family's addresses");
  }
  r.tos = body[3];
  r.table = body[4];
  r.kind = static_cast<RouteKind>(body[7]);
  const auto flags = native<uint32_t>(body.subspan(8, 4));
  // RTNH_F_LINKDOWN routes are still used unless ignore_routes_with_linkdown is set.
  r.dead = (flags & kRtnhFDead) != 0;
  auto attrs = attributes(body.subspan(kRtmsg));
  if (!attrs) return broken("route", "has an attribute that overruns it");
  IpAddress dst =
      *family == IpAddress::Family::kV4 ? IpAddress() : IpAddress::v6(std::array<uint8_t, 16>{});
  for (const auto& a : *attrs) {
    switch (a.type) {
      case kRtaDst: {
        auto d = address(a.value, *family);
        if (!d) return broken("route", "has a destination of the wrong size");
        dst = *d;
        break;
      }
      case kRtaOif:
        r.oif = u32(a);
        break;
      case kRtaGateway:
        r.gateway = address(a.value, *family);
        break;
      case kRtaPriority:
        r.metric = u32(a).value_or(0);
        break;
      case kRtaTable:
        if (auto t = u32(a)) r.table = *t;
        break;
      case kRtaMultipath:
        // rtnexthop: len u16, flags u8, hops u8, ifindex i32, then its own attributes.
        if (!r.oif && a.value.size() >= kRtnexthop) {
          r.oif = static_cast<uint32_t>(native<int32_t>(a.value.subspan(4, 4)));
        }
        break;
      default:
        break;
    }
  }
  r.dst = IpPrefix{dst, length}.masked();
  state.routes.push_back(r);
  return {};
}

Status merge_rule(Bytes body, NetState& state) {
  if (body.size() < kFibRuleHdr) return broken("rule", "is shorter than its header");
  auto family = family_of(body[0]);
  if (!family) return {};
  NetRule r;
  r.family = *family;
  const uint8_t dst_len = body[1], src_len = body[2];
  const unsigned bits = *family == IpAddress::Family::kV4 ? 32 : 128;
  if (dst_len > bits || src_len > bits) return broken("rule", "has a prefix that is too long");
  if (body[3] != 0) r.other_selectors = true;  // tos
  r.table = body[4];
  r.action = static_cast<RuleAction>(body[7]);
  r.invert = (native<uint32_t>(body.subspan(8, 4)) & kFibRuleInvert) != 0;
  auto attrs = attributes(body.subspan(kFibRuleHdr));
  if (!attrs) return broken("rule", "has an attribute that overruns it");
  for (const auto& a : *attrs) {
    switch (a.type) {
      case kFraDst:
      case kFraSrc: {
        auto addr = address(a.value, *family);
        if (!addr) return broken("rule", "has an address of the wrong size");
        auto& slot = a.type == kFraDst ? r.dst : r.src;
        slot = IpPrefix{*addr, a.type == kFraDst ? dst_len : src_len}.masked();
        break;
      }
      case kFraIifname:
        r.iifname = text(a);
        break;
      case kFraOifname:
        r.oifname = text(a);
        break;
      case kFraGoto:
        r.goto_target = u32(a);
        break;
      case kFraPriority:
        r.priority = u32(a).value_or(0);
        break;
      case kFraFwmark:
        r.fwmark = u32(a);
        break;
      case kFraFwmask:
        r.fwmask = u32(a);
        break;
      case kFraSuppressPrefixlen:
        if (auto v = u32(a); v && *v != 0xffffffff) r.suppress_prefixlength = *v;
        break;
      case kFraTable:
        if (auto t = u32(a); t && *t != 0) r.table = *t;
        break;
      case kFraFlow:
      case kFraTunId:
      case kFraL3mdev:
      case kFraUidRange:
      case kFraIpProto:
      case kFraSportRange:
      case kFraDportRange:
        r.other_selectors = true;
        break;
      case kFraSuppressIfgroup:
      default:
        break;
    }
  }
  state.rules.push_back(std::move(r));
  return {};
}

}  // namespace

Status merge_rtnl_message(Bytes message, NetState& state) {
  if (message.size() < kNlmsgHeader) return fail("rtnetlink: a message shorter than its header");
  const auto len = native<uint32_t>(message.subspan(0, 4));
  const auto type = native<uint16_t>(message.subspan(4, 2));
  if (len < kNlmsgHeader || len > message.size()) {
    return fail(fmt::format("rtnetlink: a message says {} bytes but {} came", len, message.size()));
  }
  const Bytes body = message.subspan(kNlmsgHeader, len - kNlmsgHeader);
  switch (type) {
    case rtnl::kNewLink:
      return merge_link(body, state);
    case rtnl::kNewAddr:
      return merge_address(body, state);
    case rtnl::kNewRoute:
      return merge_route(body, state);
    case rtnl::kNewRule:
      return merge_rule(body, state);
    default:
      return {};
  }
}

std::string NetState::link_name(uint32_t index) const {
  for (const auto& l : links) {
    if (l.index == index) return l.name;
  }
  return fmt::format("if{}", index);
}

std::optional<uint32_t> NetState::link_index(const std::string& name) const {
  for (const auto& l : links) {
    if (l.name == name) return l.index;
  }
  return std::nullopt;
}

}  // namespace tern::doctor
