#include "doctor/df_ping_icmp.hpp"

#include <algorithm>
#include <cstring>

#include "wire/checksum.hpp"

namespace tern::doctor {
namespace {

constexpr uint8_t kEchoRequestV4 = 8;
constexpr uint8_t kEchoReplyV4 = 0;
constexpr uint8_t kUnreachableV4 = 3;
constexpr uint8_t kFragNeededCode = 4;
constexpr uint8_t kTimeExceededV4 = 11;
constexpr uint8_t kParamProblemV4 = 12;

constexpr uint8_t kEchoRequestV6 = 128;
constexpr uint8_t kEchoReplyV6 = 129;
constexpr uint8_t kUnreachableV6 = 1;
constexpr uint8_t kTooBigV6 = 2;
constexpr uint8_t kTimeExceededV6 = 3;
constexpr uint8_t kParamProblemV6 = 4;

constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoIcmpV6 = 58;

bool is_error_type(uint8_t type, IpAddress::Family f) {
  if (f == IpAddress::Family::kV4) {
    return type == kUnreachableV4 || type == kTimeExceededV4 || type == kParamProblemV4;
  }
  return type == kUnreachableV6 || type == kTooBigV6 || type == kTimeExceededV6 ||
         type == kParamProblemV6;
}

// The IPv4 header at the start of `packet`: its header length and the bytes up to its total
// length, or nullopt when it is not a well-formed first fragment.
struct Ipv4View {
  size_t header = 0;
  uint8_t protocol = 0;
  IpAddress destination;
  Bytes packet;
};

std::optional<Ipv4View> view_ipv4(Bytes packet, bool quoted) {
  if (packet.size() < kIpv4HeaderSize || (packet[0] >> 4) != 4) return std::nullopt;
  const size_t header = size_t{packet[0] & 0x0fu} * 4;
  if (header < kIpv4HeaderSize || header > packet.size()) return std::nullopt;
  const size_t total = (size_t{packet[2]} << 8) | packet[3];
  if (total < header) return std::nullopt;
  // A quoted packet is cut short by the router; a received one must be whole.
  if (!quoted && total > packet.size()) return std::nullopt;
  const uint16_t frag = static_cast<uint16_t>((packet[6] << 8) | packet[7]);
  if ((frag & 0x1fffu) != 0) return std::nullopt;  // not the first fragment: no ICMP header
  Ipv4View v;
  v.header = header;
  v.protocol = packet[9];
  v.destination =
      IpAddress::v4(std::array<uint8_t, 4>{packet[16], packet[17], packet[18], packet[19]});
  v.packet = packet.first(std::min(total, packet.size()));
  return v;
}

IcmpMessage parse_error(uint8_t type, uint8_t code, uint32_t word, Bytes quoted,
                        IpAddress::Family f) {
  IcmpError e;
  e.type = type;
  e.code = code;
  Bytes echo;
  if (f == IpAddress::Family::kV4) {
    auto ip = view_ipv4(quoted, true);
    if (!ip) return IcmpDrop::kMalformed;
    if (ip->protocol != kProtoIcmp) return IcmpDrop::kNotOurs;
    e.quoted_destination = ip->destination;
    echo = ip->packet.subspan(ip->header);
    e.too_big = type == kUnreachableV4 && code == kFragNeededCode;
    if (e.too_big) e.mtu = word & 0xffffu;
  } else {
    if (quoted.size() < kIpv6HeaderSize || (quoted[0] >> 4) != 6) return IcmpDrop::kMalformed;
    // We send no extension headers, so anything else is not one of our probes.
    if (quoted[6] != kProtoIcmpV6) return IcmpDrop::kNotOurs;
    std::array<uint8_t, 16> dst{};
    std::memcpy(dst.data(), quoted.data() + 24, 16);
    e.quoted_destination = IpAddress::v6(dst);
    echo = quoted.subspan(kIpv6HeaderSize);
    e.too_big = type == kTooBigV6;
    if (e.too_big) e.mtu = word;
  }
  auto q = parse_quoted_echo(echo, f);
  if (!q) return IcmpDrop::kNotOurs;
  e.id = q->id;
  e.seq = q->seq;
  return e;
}

}  // namespace

std::string_view icmp_drop_name(IcmpDrop d) {
  switch (d) {
    case IcmpDrop::kMalformed:
      return "malformed";
    case IcmpDrop::kNotIcmp:
      return "not_icmp";
    case IcmpDrop::kBadChecksum:
      return "bad_checksum";
    case IcmpDrop::kIgnoredType:
      return "ignored_type";
    case IcmpDrop::kNotOurs:
      return "not_ours";
    case IcmpDrop::kWrongSource:
      return "wrong_source";
    case IcmpDrop::kUnknownProbe:
      return "unknown_probe";
    case IcmpDrop::kCount:
      break;
  }
  return "unknown";
}

size_t build_echo_request(IpAddress::Family family, uint16_t id, uint16_t seq,
                          const ProbeToken& token, size_t ip_size, MutableBytes out) {
  if (ip_size < min_probe_size(family)) return 0;
  const size_t len = ip_size - ip_header_size(family);
  if (out.size() < len) return 0;
  const bool v4 = family == IpAddress::Family::kV4;
  ByteWriter w(out.first(len));
  w.u8(v4 ? kEchoRequestV4 : kEchoRequestV6);
  w.u8(0);
  w.u16_be(0);  // checksum, below
  w.u16_be(id);
  w.u16_be(seq);
  w.bytes(token);
  w.zeros(len - kIcmpHeaderSize - kProbeTokenSize);
  if (!w.ok()) return 0;
  if (v4) {
    const uint16_t sum = wire::checksum_finish(wire::checksum_add(out.first(len)));
    out[2] = static_cast<uint8_t>(sum >> 8);
    out[3] = static_cast<uint8_t>(sum);
  }
  return len;
}

std::optional<QuotedEcho> parse_quoted_echo(Bytes icmp, IpAddress::Family family) {
  ByteReader r(icmp);
  auto type = r.u8();
  auto code = r.u8();
  auto sum = r.u16_be();
  auto id = r.u16_be();
  auto seq = r.u16_be();
  if (!type || !code || !sum || !id || !seq) return std::nullopt;
  const uint8_t want = family == IpAddress::Family::kV4 ? kEchoRequestV4 : kEchoRequestV6;
  if (*type != want || *code != 0) return std::nullopt;
  return QuotedEcho{*id, *seq};
}

IcmpMessage parse_icmp(Bytes datagram, IcmpFraming framing, IpAddress::Family family) {
  Bytes icmp = datagram;
  if (framing == IcmpFraming::kWithIpv4Header) {
    auto ip = view_ipv4(datagram, false);
    if (!ip) return IcmpDrop::kMalformed;
    if (ip->protocol != kProtoIcmp) return IcmpDrop::kNotIcmp;
    icmp = ip->packet.subspan(ip->header);
    if (icmp.size() >= kIcmpHeaderSize && wire::checksum_fold(wire::checksum_add(icmp)) != 0xffff) {
      return IcmpDrop::kBadChecksum;
    }
  }
  ByteReader r(icmp);
  auto type = r.u8();
  auto code = r.u8();
  auto sum = r.u16_be();
  auto word = r.u32_be();
  if (!type || !code || !sum || !word) return IcmpDrop::kMalformed;
  const bool v4 = family == IpAddress::Family::kV4;
  if (*type == (v4 ? kEchoReplyV4 : kEchoReplyV6)) {
    if (*code != 0) return IcmpDrop::kMalformed;
    return EchoReply{static_cast<uint16_t>(*word >> 16), static_cast<uint16_t>(*word), r.rest()};
  }
  if (!is_error_type(*type, family)) return IcmpDrop::kIgnoredType;
  return parse_error(*type, *code, *word, r.rest(), family);
}

}  // namespace tern::doctor
