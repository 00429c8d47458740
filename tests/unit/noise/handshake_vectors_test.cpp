// Byte compatibility: one handshake with fixed keys and ephemerals must reproduce,
// byte for byte, the transcript computed by handshake_vectors.py, an independent
// implementation written from the whitepaper's formulas.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "crypto/hex_util.hpp"
#include "noise/cookie.hpp"
#include "noise/handshake.hpp"
#include "noise/transport.hpp"

namespace tern::noise {
namespace {

using crypto::Key;
using test::hex;
using test::unhex;

Key filled(uint8_t v) {
  Key k;
  k.fill(v);
  return k;
}

constexpr char kInitiation[] =
    "01000000040302017b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b1481e498317da9"
    "59fba46669572516a5e6c021bfa620bb6c56ca0082e1feae14988c2c64d024c617734a263f76a008df04d0f94bad"
    "8ee75ec2ebc26955e25dac89e1a97d7e0173721e4981674e624310019b46e59eb4a1ce3c3b084e40000000000000"
    "00000000000000000000";
constexpr char kResponse[] =
    "02000000d0c0b0a004030201ff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf2419731c1fff3e6ba8f8"
    "dd722f47b75215ce44c6b94d81b6cf809685f73bd5aa5fb714a95230221500000000000000000000000000000000";
constexpr char kInitiatorSend[] =
    "a007faf842d83f5bd3be20a14e0ffcec34c84867b78b051980602713205922de";
constexpr char kInitiatorRecv[] =
    "d982d5cd10d34a7802b6c19fa441cd9164d70e4f4d62007ab416879ee8bd1b99";
constexpr char kTransport[] =
    "04000000d0c0b0a000000000000000000c51489d1b28e9cab5540c477b1c2542037a9588762f3c748b62abcddb4c"
    "029b";
constexpr char kCookieReply[] =
    "0300000004030201606162636465666768696a6b6c6d6e6f70717273747576770cff956cca5b1e22243ac5590b63"
    "d780a1fe21b49a25dca373f447ce1d1fb45b";
constexpr char kMac2Initiation[] = "09dd7fc5bcb42b9fff23f06abcd87f21";

constexpr uint32_t kInitiatorIndex = 0x01020304;
constexpr uint32_t kResponderIndex = 0xa0b0c0d0;

struct Fixture {
  LocalIdentity initiator = LocalIdentity::from_private(filled(0x11));
  LocalIdentity responder = LocalIdentity::from_private(filled(0x22));
  Key psk = filled(0x55);
  wire::Tai64n timestamp{{0x40, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00, 0x0a, 0, 0, 0}};
};

TEST(HandshakeVectors, PublicKeys) {
  Fixture f;
  EXPECT_EQ(hex(f.initiator.public_key),
            "7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13");
  EXPECT_EQ(hex(f.responder.public_key),
            "0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20");
}

TEST(HandshakeVectors, FullTranscriptMatchesReference) {
  Fixture f;
  const Instant now = instant_from_ns(1'000'000'000);
  Handshake initiator(f.initiator, f.responder.public_key, f.psk);
  Handshake responder(f.responder, f.initiator.public_key, f.psk);
  MacGenerator initiator_macs(f.responder.public_key);
  MacGenerator responder_macs(f.initiator.public_key);

  std::array<uint8_t, wire::kInitiationSize> init{};
  ASSERT_TRUE(initiator.create_initiation(kInitiatorIndex, f.timestamp, init, filled(0x33)));
  ASSERT_TRUE(initiator_macs.add_macs(init, now));
  EXPECT_EQ(hex(init), kInitiation);

  auto opened = open_initiation(f.responder, init);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->initiator_static, f.initiator.public_key);
  auto consumed = responder.consume_initiation(*opened);
  ASSERT_TRUE(consumed);
  EXPECT_EQ(consumed->timestamp, f.timestamp);
  EXPECT_EQ(consumed->sender_index, kInitiatorIndex);

  std::array<uint8_t, wire::kResponseSize> resp{};
  auto responder_keys = responder.create_response(*consumed, kResponderIndex, resp, filled(0x44));
  ASSERT_TRUE(responder_keys);
  ASSERT_TRUE(responder_macs.add_macs(resp, now));
  EXPECT_EQ(hex(resp), kResponse);

  auto initiator_keys = initiator.consume_response(*wire::parse_response(resp));
  ASSERT_TRUE(initiator_keys);
  EXPECT_EQ(hex(initiator_keys->send_key), kInitiatorSend);
  EXPECT_EQ(hex(initiator_keys->recv_key), kInitiatorRecv);
  EXPECT_EQ(responder_keys->recv_key, initiator_keys->send_key);
  EXPECT_EQ(responder_keys->send_key, initiator_keys->recv_key);

  std::array<uint8_t, 16> payload{};
  for (size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<uint8_t>(i);
  std::array<uint8_t, 48> transport{};
  ASSERT_EQ(encrypt_transport(initiator_keys->send_key, initiator_keys->remote_index, 0, payload,
                              transport),
            48u);
  EXPECT_EQ(hex(transport), kTransport);
}

TEST(HandshakeVectors, CookieReplyAndMac2MatchReference) {
  Fixture f;
  const Instant now = instant_from_ns(1'000'000'000);
  Handshake initiator(f.initiator, f.responder.public_key, f.psk);
  MacGenerator macs(f.responder.public_key);
  std::array<uint8_t, wire::kInitiationSize> init{};
  ASSERT_TRUE(initiator.create_initiation(kInitiatorIndex, f.timestamp, init, filled(0x33)));
  ASSERT_TRUE(macs.add_macs(init, now));

  auto reply = wire::parse_cookie_reply(unhex(kCookieReply));
  ASSERT_TRUE(reply);
  ASSERT_TRUE(macs.consume_cookie_reply(*reply, now));
  ASSERT_TRUE(macs.add_macs(init, now));
  EXPECT_EQ(hex(std::vector<uint8_t>(init.end() - 16, init.end())), kMac2Initiation);
}

}  // namespace
}  // namespace tern::noise
