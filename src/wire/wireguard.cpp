#include "wire/wireguard.hpp"

#include <algorithm>

namespace tern::wire {
namespace {

template <size_t N>
bool read_into(ByteReader& r, std::array<uint8_t, N>& out) {
  auto b = r.take(N);
  if (!b) return false;
  std::copy(b->begin(), b->end(), out.begin());
  return true;
}

// Skips the type byte and the three reserved bytes already checked by classify().
ByteReader body_reader(Bytes datagram) {
  ByteReader r(datagram);
  (void)r.take(4);
  return r;
}

void write_type(ByteWriter& w, uint8_t type) {
  w.u8(type);
  w.zeros(3);
}

}  // namespace

std::optional<MessageType> classify(Bytes d) {
  if (d.size() < 4 || d[1] != 0 || d[2] != 0 || d[3] != 0) return std::nullopt;
  switch (d[0]) {
    case kMessageInitiation:
      if (d.size() == kInitiationSize) return MessageType::kInitiation;
      break;
    case kMessageResponse:
      if (d.size() == kResponseSize) return MessageType::kResponse;
      break;
    case kMessageCookieReply:
      if (d.size() == kCookieReplySize) return MessageType::kCookieReply;
      break;
    case kMessageTransport:
      if (d.size() >= kTransportOverhead) return MessageType::kTransport;
      break;
    default:
      break;
  }
  return std::nullopt;
}

std::optional<Initiation> parse_initiation(Bytes d) {
  if (classify(d) != MessageType::kInitiation) return std::nullopt;
  ByteReader r = body_reader(d);
  Initiation m;
  auto sender = r.u32_le();
  if (!sender || !read_into(r, m.ephemeral) || !read_into(r, m.encrypted_static) ||
      !read_into(r, m.encrypted_timestamp) || !read_into(r, m.mac1) || !read_into(r, m.mac2)) {
    return std::nullopt;
  }
  m.sender_index = *sender;
  return m;
}

std::optional<Response> parse_response(Bytes d) {
  if (classify(d) != MessageType::kResponse) return std::nullopt;
  ByteReader r = body_reader(d);
  Response m;
  auto sender = r.u32_le();
  auto receiver = r.u32_le();
  if (!sender || !receiver || !read_into(r, m.ephemeral) || !read_into(r, m.encrypted_nothing) ||
      !read_into(r, m.mac1) || !read_into(r, m.mac2)) {
    return std::nullopt;
  }
  m.sender_index = *sender;
  m.receiver_index = *receiver;
  return m;
}

std::optional<CookieReply> parse_cookie_reply(Bytes d) {
  if (classify(d) != MessageType::kCookieReply) return std::nullopt;
  ByteReader r = body_reader(d);
  CookieReply m;
  auto receiver = r.u32_le();
  if (!receiver || !read_into(r, m.nonce) || !read_into(r, m.encrypted_cookie)) {
    return std::nullopt;
  }
  m.receiver_index = *receiver;
  return m;
}

std::optional<TransportView> parse_transport(Bytes d) {
  if (classify(d) != MessageType::kTransport) return std::nullopt;
  ByteReader r = body_reader(d);
  auto receiver = r.u32_le();
  auto counter = r.u64_le();
  if (!receiver || !counter) return std::nullopt;
  return TransportView{*receiver, *counter, r.rest()};
}

size_t serialize(const Initiation& m, MutableBytes out) {
  ByteWriter w(out);
  write_type(w, kMessageInitiation);
  w.u32_le(m.sender_index);
  w.bytes(m.ephemeral);
  w.bytes(m.encrypted_static);
  w.bytes(m.encrypted_timestamp);
  w.bytes(m.mac1);
  w.bytes(m.mac2);
  return w.ok() ? w.size() : 0;
}

size_t serialize(const Response& m, MutableBytes out) {
  ByteWriter w(out);
  write_type(w, kMessageResponse);
  w.u32_le(m.sender_index);
  w.u32_le(m.receiver_index);
  w.bytes(m.ephemeral);
  w.bytes(m.encrypted_nothing);
  w.bytes(m.mac1);
  w.bytes(m.mac2);
  return w.ok() ? w.size() : 0;
}

size_t serialize(const CookieReply& m, MutableBytes out) {
  ByteWriter w(out);
  write_type(w, kMessageCookieReply);
  w.u32_le(m.receiver_index);
  w.bytes(m.nonce);
  w.bytes(m.encrypted_cookie);
  return w.ok() ? w.size() : 0;
}

size_t serialize_transport_header(uint32_t receiver_index, uint64_t counter, MutableBytes out) {
  ByteWriter w(out);
  write_type(w, kMessageTransport);
  w.u32_le(receiver_index);
  w.u64_le(counter);
  return w.ok() ? w.size() : 0;
}

std::optional<uint32_t> sender_index_of(Bytes msg) {
  auto type = classify(msg);
  if (type != MessageType::kInitiation && type != MessageType::kResponse) return std::nullopt;
  return body_reader(msg).u32_le();
}

std::optional<uint32_t> receiver_index_of(Bytes msg) {
  auto type = classify(msg);
  ByteReader r = body_reader(msg);
  switch (type.value_or(MessageType::kInitiation)) {
    case MessageType::kResponse:
      (void)r.u32_le();  // sender index comes first
      return r.u32_le();
    case MessageType::kCookieReply:
    case MessageType::kTransport:
      return r.u32_le();
    case MessageType::kInitiation:
      break;
  }
  return std::nullopt;
}

}  // namespace tern::wire
