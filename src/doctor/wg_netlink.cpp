#include "doctor/wg_netlink.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace tern::doctor {
namespace {

constexpr size_t kNlmsgHeader = 16;
constexpr size_t kGenlHeader = 4;
constexpr size_t kAttrHeader = 4;
constexpr uint16_t kNlaTypeMask = 0x3FFF;  // without NLA_F_NESTED and NLA_F_NET_BYTEORDER
constexpr uint16_t kNlmFRequest = 0x1;
constexpr uint16_t kNlmFAck = 0x4;
constexpr uint16_t kNlmFDump = 0x300;
constexpr uint16_t kAfInet = 2;
constexpr uint16_t kAfInet6 = 10;

size_t align4(size_t n) {
  return (n + 3) & ~size_t{3};
}

template <class T>
T native(Bytes b) {
  T v{};
  std::memcpy(&v, b.data(), sizeof v);
  return v;
}

void put_native(std::vector<uint8_t>& out, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  out.insert(out.end(), b, b + n);
}

struct Attr {
  uint16_t type = 0;
  Bytes value;
};

// Walks netlink attributes; stops (ok() false) at the first one that overruns.
class AttrWalker {
 public:
  explicit AttrWalker(Bytes data) : data_(data) {}
  std::optional<Attr> next() {
    if (pos_ >= data_.size()) return std::nullopt;
    if (data_.size() - pos_ < kAttrHeader) return broken();
    const auto len = native<uint16_t>(data_.subspan(pos_, 2));
    const auto type = native<uint16_t>(data_.subspan(pos_ + 2, 2));
    if (len < kAttrHeader || len > data_.size() - pos_) return broken();
    Attr a{static_cast<uint16_t>(type & kNlaTypeMask),
           data_.subspan(pos_ + kAttrHeader, len - kAttrHeader)};
    pos_ = std::min(data_.size(), pos_ + align4(len));
    return a;
  }
  bool ok() const { return ok_; }

 private:
  std::optional<Attr> broken() {
    ok_ = false;
    return std::nullopt;
  }
  Bytes data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

void put_attr(std::vector<uint8_t>& out, uint16_t type, Bytes value) {
  const auto len = static_cast<uint16_t>(kAttrHeader + value.size());
  put_native(out, &len, 2);
  put_native(out, &type, 2);
  out.insert(out.end(), value.begin(), value.end());
  out.resize(align4(out.size()), 0);
}

std::vector<uint8_t> genl_message(uint16_t type, uint16_t flags, uint32_t seq, uint8_t cmd,
                                  uint8_t version) {
  std::vector<uint8_t> out;
  out.reserve(256);        // also keeps g++ 12 -O3 from a false -Wstringop-overflow
  const uint32_t len = 0;  // set by finish()
  const uint32_t pid = 0;
  put_native(out, &len, 4);
  put_native(out, &type, 2);
  put_native(out, &flags, 2);
  put_native(out, &seq, 4);
  put_native(out, &pid, 4);
  out.push_back(cmd);
  out.push_back(version);
  out.push_back(0);
  out.push_back(0);
  return out;
}

void finish(std::vector<uint8_t>& out) {
  const auto len = static_cast<uint32_t>(out.size());
  std::memcpy(out.data(), &len, 4);
}

// The attributes after nlmsghdr and genlmsghdr, or nullopt when the header does not fit.
std::optional<Bytes> genl_payload(Bytes message) {
  if (message.size() < kNlmsgHeader + kGenlHeader) return std::nullopt;
  const auto len = native<uint32_t>(message.first(4));
  if (len < kNlmsgHeader + kGenlHeader || len > message.size()) return std::nullopt;
  return message.subspan(kNlmsgHeader + kGenlHeader, len - kNlmsgHeader - kGenlHeader);
}

std::optional<Endpoint> read_sockaddr(Bytes b) {
  if (b.size() < 2) return std::nullopt;
  const auto family = native<uint16_t>(b.first(2));
  if (family == kAfInet && b.size() >= 8) {
    const auto port = static_cast<uint16_t>((b[2] << 8) | b[3]);
    return Endpoint{IpAddress::v4({b[4], b[5], b[6], b[7]}), port};
  }
  if (family == kAfInet6 && b.size() >= 24) {
    const auto port = static_cast<uint16_t>((b[2] << 8) | b[3]);
    std::array<uint8_t, 16> a{};
    std::copy_n(b.begin() + 8, 16, a.begin());
    return Endpoint{IpAddress::v6(a), port};
  }
  return std::nullopt;
}

Status read_allowed_ip(Bytes nest, uapi::PeerSnapshot& peer) {
  AttrWalker w(nest);
  std::optional<uint16_t> family;
  std::optional<Bytes> address;
  std::optional<uint8_t> cidr;
  while (auto a = w.next()) {
    if (a->type == wgnl::kAllowedFamily && a->value.size() >= 2) {
      family = native<uint16_t>(a->value);
    } else if (a->type == wgnl::kAllowedAddress) {
      address = a->value;
    } else if (a->type == wgnl::kAllowedCidr && !a->value.empty()) {
      cidr = a->value[0];
    }
  }
  if (!w.ok()) return fail("WGPEER_A_ALLOWEDIPS: an attribute overruns its nest");
  if (!family || !address || !cidr) return fail("WGPEER_A_ALLOWEDIPS: an entry lacks a field");
  IpPrefix p;
  if (*family == kAfInet && address->size() == 4 && *cidr <= 32) {
    p.address = IpAddress::v4({(*address)[0], (*address)[1], (*address)[2], (*address)[3]});
  } else if (*family == kAfInet6 && address->size() == 16 && *cidr <= 128) {
    std::array<uint8_t, 16> a{};
    std::copy_n(address->begin(), 16, a.begin());
    p.address = IpAddress::v6(a);
  } else {
    return fail("WGPEER_A_ALLOWEDIPS: a bad family, address size or prefix length");
  }
  p.length = *cidr;
  peer.allowed_ips.push_back(p);
  return {};
}

Status read_peer(Bytes nest, uapi::PeerSnapshot& peer) {
  AttrWalker w(nest);
  bool has_key = false;
  while (auto a = w.next()) {
    const Bytes v = a->value;
    switch (a->type) {
      case wgnl::kPeerPublicKey:
        if (v.size() != 32) return fail("WGPEER_A_PUBLIC_KEY is not 32 bytes");
        std::copy_n(v.begin(), 32, peer.public_key.begin());
        has_key = true;
        break;
      case wgnl::kPeerPresharedKey:
        if (v.size() == 32 && std::any_of(v.begin(), v.end(), [](uint8_t b) { return b != 0; })) {
          crypto::Key k{};
          std::copy_n(v.begin(), 32, k.begin());
          peer.preshared_key = k;
        }
        break;
      case wgnl::kPeerEndpoint:
        peer.endpoint = read_sockaddr(v);
        if (!peer.endpoint) return fail("WGPEER_A_ENDPOINT is not a sockaddr_in or sockaddr_in6");
        break;
      case wgnl::kPeerKeepalive:
        if (v.size() < 2) return fail("WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL is short");
        peer.persistent_keepalive_interval = native<uint16_t>(v);
        break;
      case wgnl::kPeerLastHandshake:
        if (v.size() < 16) return fail("WGPEER_A_LAST_HANDSHAKE_TIME is short");
        peer.last_handshake_time_sec = native<int64_t>(v.first(8));
        peer.last_handshake_time_nsec = native<int64_t>(v.subspan(8, 8));
        break;
      case wgnl::kPeerRxBytes:
        if (v.size() < 8) return fail("WGPEER_A_RX_BYTES is short");
        peer.rx_bytes = native<uint64_t>(v);
        break;
      case wgnl::kPeerTxBytes:
        if (v.size() < 8) return fail("WGPEER_A_TX_BYTES is short");
        peer.tx_bytes = native<uint64_t>(v);
        break;
      case wgnl::kPeerAllowedIps: {
        AttrWalker ips(v);
        while (auto ip = ips.next()) {
          if (auto s = read_allowed_ip(ip->value, peer); !s) return s;
        }
        if (!ips.ok()) return fail("WGPEER_A_ALLOWEDIPS overruns the peer");
        break;
      }
      default:
        break;
    }
  }
  if (!w.ok()) return fail("a peer attribute overruns its nest");
  if (!has_key) return fail("a peer without WGPEER_A_PUBLIC_KEY");
  return {};
}

}  // namespace

std::vector<uint8_t> build_family_request(uint32_t seq) {
  auto out = genl_message(wgnl::kCtrlId, kNlmFRequest | kNlmFAck, seq, wgnl::kCtrlCmdGetFamily, 1);
  put_attr(out, wgnl::kCtrlAttrFamilyName,
           Bytes(reinterpret_cast<const uint8_t*>(wgnl::kFamilyName), sizeof wgnl::kFamilyName));
  finish(out);
  return out;
}

std::optional<uint16_t> parse_family_id(Bytes message) {
  auto payload = genl_payload(message);
  if (!payload) return std::nullopt;
  AttrWalker w(*payload);
  while (auto a = w.next()) {
    if (a->type == wgnl::kCtrlAttrFamilyId && a->value.size() >= 2) {
      return native<uint16_t>(a->value);
    }
  }
  return std::nullopt;
}

std::vector<uint8_t> build_get_device(uint16_t family, uint32_t seq, std::string_view ifname) {
  auto out = genl_message(family, kNlmFRequest | kNlmFAck | kNlmFDump, seq, wgnl::kCmdGetDevice,
                          wgnl::kVersion);
  std::string name(ifname);
  put_attr(out, wgnl::kDeviceIfname,
           Bytes(reinterpret_cast<const uint8_t*>(name.c_str()), name.size() + 1));
  finish(out);
  return out;
}

Status merge_device_message(Bytes message, WgNetlinkDevice& d) {
  auto payload = genl_payload(message);
  if (!payload) return fail("a WireGuard netlink message shorter than its headers");
  AttrWalker w(*payload);
  while (auto a = w.next()) {
    const Bytes v = a->value;
    switch (a->type) {
      case wgnl::kDeviceIfindex:
        if (v.size() >= 4) d.ifindex = native<uint32_t>(v);
        break;
      case wgnl::kDeviceIfname:
        d.ifname.assign(reinterpret_cast<const char*>(v.data()),
                        std::find(v.begin(), v.end(), uint8_t{0}) - v.begin());
        break;
      case wgnl::kDevicePrivateKey:
        // Never kept: the doctor has no use for it.
        break;
      case wgnl::kDeviceListenPort:
        if (v.size() >= 2) d.device.listen_port = native<uint16_t>(v);
        break;
      case wgnl::kDeviceFwmark:
        if (v.size() >= 4) d.device.fwmark = native<uint32_t>(v);
        break;
      case wgnl::kDevicePeers: {
        AttrWalker peers(v);
        while (auto p = peers.next()) {
          uapi::PeerSnapshot peer;
          if (auto s = read_peer(p->value, peer); !s) return s;
          // A peer cut between two messages comes again with the rest of its allowed IPs.
          if (!d.device.peers.empty() && d.device.peers.back().public_key == peer.public_key) {
            auto& last = d.device.peers.back();
            last.allowed_ips.insert(last.allowed_ips.end(), peer.allowed_ips.begin(),
                                    peer.allowed_ips.end());
          } else {
            d.device.peers.push_back(std::move(peer));
          }
        }
        if (!peers.ok()) return fail("WGDEVICE_A_PEERS: a peer overruns the list");
        break;
      }
      default:
        break;
    }
  }
  if (!w.ok()) return fail("a device attribute overruns the message");
  return {};
}

}  // namespace tern::doctor
