// Fuzzes the TURN client with arbitrary messages from "the server": as they are,
// carrying the transaction id of the client's last request, or rebuilt as an
// answer to it signed with the right key (so the fuzzer reaches the answer
// handlers: challenges, error codes, allocations, refreshes), mixed with
// time jumps, peers added and removed, and data sent. Whatever arrives, every
// input is consumed, delivered inside the input or dropped and counted, a
// handled deadline never stays in the past, and framed data lies in the buffer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/bytes.hpp"
#include "core/turn_client.hpp"
#include "wire/stun.hpp"
#include "wire/stun_attributes.hpp"
#include "wire/stun_builder.hpp"
#include "wire/stun_integrity.hpp"

using namespace tern;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

Endpoint peer_from(uint8_t b) {
  if (b & 0x80) {
    std::array<uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8};
    a[15] = b & 0x07;
    return Endpoint{IpAddress::v6(a), static_cast<uint16_t>(51820 + (b & 0x03))};
  }
  return Endpoint{IpAddress::v4({198, 51, 100, static_cast<uint8_t>(b & 0x07)}),
                  static_cast<uint16_t>(51820 + ((b >> 3) & 0x03))};
}

// The fuzzer's attributes under the fuzzer's message type, as an answer to `request`,
// with MESSAGE-INTEGRITY keyed as the client expects; empty when that cannot be done.
std::vector<uint8_t> signed_answer(Bytes body, const std::vector<uint8_t>& request) {
  auto req = wire::StunMessage::parse(request);
  auto fuzz = wire::StunMessage::parse(body);
  if (!req || !fuzz) return {};
  const auto realm = req->find(wire::StunAttr::kRealm);
  if (!realm) return {};
  const auto key = wire::stun_long_term_key_md5("alice", wire::as_text(realm->value), "pw");
  std::vector<uint8_t> out(wire::kStunMaxUdpMessage);
  wire::StunBuilder b(out, fuzz->type(), req->transaction_id());
  for (const auto& a : *fuzz) {
    if (a.is(wire::StunAttr::kMessageIntegrity) || a.is(wire::StunAttr::kFingerprint) ||
        a.is(wire::StunAttr::kMessageIntegritySha256)) {
      continue;
    }
    b.add(a.type, a.value);
  }
  b.add_message_integrity(key);
  const auto m = b.finish();
  if (!m) return {};
  return std::vector<uint8_t>(m->begin(), m->end());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteReader r(Bytes(data, size));
  core::TurnConfig config;
  config.server_host = "turn.example.net";
  config.credentials = {"alice", "pw"};
  const uint8_t setup = r.u8().value_or(0);
  config.transport = static_cast<core::StunTransport>(setup % 3);
  if (setup & 0x04) config.family = IpAddress::Family::kV6;
  if (setup & 0x08) config.lifetime_seconds = 60;
  Instant now = instant_from_ns(1'000'000'000);
  core::TurnClient client(config, now);
  client.set_wall_clock(WallTime{1'750'000'000'000'000'000}, now);

  std::vector<uint8_t> last_request;
  uint64_t drops = 0;
  auto drain = [&] {
    while (auto m = client.poll_transmit()) {
      require(!m->empty());
      last_request.assign(m->begin(), m->end());
    }
    while (client.poll_event()) {
    }
    require(client.drops().total() == drops);
  };
  drain();

  std::vector<uint8_t> message;
  std::vector<uint8_t> buffer;
  while (auto op = r.u8()) {
    switch (*op % 6) {
      case 0:
      case 1:
      case 5: {  // a message from the server, maybe answering the last request
        const size_t n = r.u16_be().value_or(0);
        const auto body = r.take(std::min(n, r.remaining())).value_or(Bytes{});
        message.assign(body.begin(), body.end());
        if (*op % 6 == 1 && message.size() >= 20 && last_request.size() >= 20) {
          std::memcpy(message.data() + 8, last_request.data() + 8, 12);
        }
        if (*op % 6 == 5) {
          auto answer = signed_answer(body, last_request);
          if (!answer.empty()) message = std::move(answer);
        }
        const auto res = client.handle_input(message, now);
        if (res.kind == core::TurnReceive::Kind::kDropped) ++drops;
        if (res.kind == core::TurnReceive::Kind::kData && !res.payload.empty()) {
          require(res.payload.data() >= message.data() &&
                  res.payload.data() + res.payload.size() <= message.data() + message.size());
        }
        break;
      }
      case 2: {  // time passes
        now += std::chrono::milliseconds(uint32_t{r.u16_be().value_or(0)} * 10);
        if (auto t = client.poll_timeout(); t && *t <= now) client.handle_timeout(now);
        if (auto t = client.poll_timeout()) require(*t > now);
        break;
      }
      case 3: {  // peers come and go
        const uint8_t b = r.u8().value_or(0);
        if (b & 0x40) {
          client.remove_peer(peer_from(b));
        } else {
          client.add_peer(peer_from(b), now);
        }
        break;
      }
      case 4: {  // data to a peer
        const uint8_t b = r.u8().value_or(0);
        const size_t n = r.u8().value_or(0) * 8;
        buffer.assign(core::kTurnSendHeadroom + n + core::kTurnSendTailroom, 0xAB);
        const auto sent = client.send_to(peer_from(b), buffer, n, now);
        if (sent.ok()) {
          require(sent.message.data() >= buffer.data() &&
                  sent.message.data() + sent.message.size() <= buffer.data() + buffer.size());
          require(sent.message.size() >= n + 4);
        } else {
          ++drops;
        }
        break;
      }
    }
    drain();
  }
  client.close(now);
  drain();
  return 0;
}
