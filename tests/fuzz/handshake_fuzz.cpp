// Fuzzes the receiving side of the WireGuard handshake: arbitrary initiations,
// responses, cookie replies and transport messages go through every consumer a
// device runs on network input. Nothing may crash; the fixed keys are those of
// tests/unit/noise/handshake_vectors.py, so the seed corpus (that transcript)
// reaches the deepest paths.
#include <cstddef>
#include <cstdint>

#include "noise/cookie.hpp"
#include "noise/handshake.hpp"
#include "noise/replay_window.hpp"
#include "noise/transport.hpp"

using namespace tern;
using crypto::Key;

namespace {

Key filled(uint8_t v) {
  Key k;
  k.fill(v);
  return k;
}

constexpr uint32_t kInitiatorIndex = 0x01020304;
const Instant kNow = instant_from_ns(1'000'000'000);

struct World {
  noise::LocalIdentity initiator = noise::LocalIdentity::from_private(filled(0x11));
  noise::LocalIdentity responder = noise::LocalIdentity::from_private(filled(0x22));
  // The initiator's state with the transcript's initiation outstanding.
  noise::Handshake pending{initiator, responder.public_key, filled(0x55)};
  noise::MacGenerator initiator_macs{responder.public_key};
  noise::Handshake responder_view{responder, initiator.public_key, filled(0x55)};
  noise::CookieChecker checker{responder};
  Key transport_key = filled(0x66);

  World() {
    uint8_t init[wire::kInitiationSize];
    const wire::Tai64n t{{0x40, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00, 0x0a, 0, 0, 0}};
    if (!pending.create_initiation(kInitiatorIndex, t, init, filled(0x33))) __builtin_trap();
    if (!initiator_macs.add_macs(init, kNow)) __builtin_trap();
  }
};

const World& world() {
  static const World w;
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const World& w = world();
  const Bytes in(data, size);
  const auto type = wire::classify(in);
  if (!type) return 0;
  const Endpoint source{IpAddress::v4({192, 0, 2, 1}), 51820};

  switch (*type) {
    case wire::MessageType::kInitiation: {
      noise::CookieChecker checker = w.checker;
      (void)checker.check(in, source, true, kNow);
      uint8_t reply[wire::kCookieReplySize];
      (void)checker.create_cookie_reply(in, source, kNow, reply);
      auto opened = noise::open_initiation(w.responder, in);
      if (!opened) break;
      noise::Handshake responder = w.responder_view;
      auto consumed = responder.consume_initiation(*opened);
      if (!consumed || !responder.accept_timestamp(consumed->timestamp)) break;
      uint8_t resp[wire::kResponseSize];
      (void)responder.create_response(*consumed, 7, resp, filled(0x44));
      break;
    }
    case wire::MessageType::kResponse: {
      noise::CookieChecker checker = w.checker;
      (void)checker.check(in, source, true, kNow);
      noise::Handshake initiator = w.pending;
      (void)initiator.consume_response(*wire::parse_response(in));
      break;
    }
    case wire::MessageType::kCookieReply: {
      noise::MacGenerator macs = w.initiator_macs;
      if (macs.consume_cookie_reply(*wire::parse_cookie_reply(in), kNow)) {
        uint8_t init[wire::kInitiationSize] = {wire::kMessageInitiation};
        (void)macs.add_macs(init, kNow);
      }
      break;
    }
    case wire::MessageType::kTransport: {
      auto view = *wire::parse_transport(in);
      noise::ReplayWindow window;
      if (!window.would_accept(view.counter)) break;
      uint8_t out[4096];
      if (view.encrypted.size() - wire::kAuthTagSize > sizeof out) break;
      if (noise::decrypt_transport(w.transport_key, view, out)) window.mark(view.counter);
      break;
    }
  }
  return 0;
}
