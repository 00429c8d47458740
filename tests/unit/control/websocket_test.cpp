#include "control/websocket.hpp"

#include <gtest/gtest.h>

#include <random>

namespace tern::control {
namespace {

std::string bytes(std::initializer_list<uint8_t> b) {
  return std::string(b.begin(), b.end());
}

TEST(WebSocket, AcceptKeyOfRfc6455) {
  // RFC 6455 §1.3.
  EXPECT_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  HttpRequest r;
  r.method = "GET";
  r.path = "/api/v1/stream";
  r.headers = {{"upgrade", "WebSocket"},
               {"connection", "keep-alive, Upgrade"},
               {"sec-websocket-version", "13"},
               {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="}};
  auto accept = check_ws_upgrade(r);
  ASSERT_TRUE(accept) << accept.error().message;
  EXPECT_EQ(*accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  r.headers[2].second = "8";
  EXPECT_FALSE(check_ws_upgrade(r));
  r.headers[2].second = "13";
  r.headers[1].second = "keep-alive";
  EXPECT_FALSE(check_ws_upgrade(r));
  r.headers[1].second = "upgrade";
  r.headers[3].second = "short==";
  EXPECT_FALSE(check_ws_upgrade(r));
}

TEST(WebSocket, FramesOfRfc6455Section5_7) {
  const std::string unmasked = bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  const std::string masked =
      bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  WsFrame f;
  auto p = parse_ws_frame(unmasked, false, f);
  ASSERT_EQ(p.result, WsParse::kOk);
  EXPECT_EQ(p.consumed, unmasked.size());
  EXPECT_EQ(f.payload, "Hello");
  EXPECT_EQ(f.opcode, WsOpcode::kText);
  p = parse_ws_frame(masked, true, f);
  ASSERT_EQ(p.result, WsParse::kOk);
  EXPECT_EQ(f.payload, "Hello");
  // The server refuses unmasked client frames, the client masked server frames.
  EXPECT_EQ(parse_ws_frame(unmasked, true, f).result, WsParse::kBad);
  EXPECT_EQ(parse_ws_frame(masked, false, f).result, WsParse::kBad);
  EXPECT_EQ(encode_ws_frame(WsOpcode::kText, "Hello"), unmasked);
  EXPECT_EQ(
      encode_ws_frame(WsOpcode::kText, "Hello", std::array<uint8_t, 4>{0x37, 0xfa, 0x21, 0x3d}),
      masked);
  // 256 bytes in an unmasked binary frame: 16-bit length (§5.7).
  const std::string big = encode_ws_frame(WsOpcode::kBinary, std::string(256, 'x'));
  EXPECT_EQ(big.substr(0, 4), bytes({0x82, 0x7E, 0x01, 0x00}));
  const std::string huge = encode_ws_frame(WsOpcode::kBinary, std::string(65536, 'x'));
  EXPECT_EQ(huge.substr(0, 10), bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}));
  ASSERT_EQ(parse_ws_frame(huge, false, f).result, WsParse::kOk);
  EXPECT_EQ(f.payload.size(), 65536u);
}

TEST(WebSocket, StrictAboutWhatTheRfcForbids) {
  WsFrame f;
  auto result = [&](const std::string& s) { return parse_ws_frame(s, false, f).result; };
  EXPECT_EQ(result(bytes({0xC1, 0x00})), WsParse::kBad);              // RSV1 without an extension
  EXPECT_EQ(result(bytes({0x83, 0x00})), WsParse::kBad);              // reserved opcode
  EXPECT_EQ(result(bytes({0x09, 0x00})), WsParse::kBad);              // fragmented ping
  EXPECT_EQ(result(bytes({0x89, 0x7E, 0x00, 0x7E})), WsParse::kBad);  // control over 125
  EXPECT_EQ(result(bytes({0x82, 0x7E, 0x00, 0x05})), WsParse::kBad);  // non-minimal length
  EXPECT_EQ(result(bytes({0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0})), WsParse::kBad);
  // Over kMaxWsPayload (16 MiB); 16 MiB itself is still taken (a 65,536-peer map).
  EXPECT_EQ(result(bytes({0x82, 0x7F, 0, 0, 0, 0, 0x01, 0, 0, 0x01})), WsParse::kTooLarge);
  EXPECT_EQ(result(bytes({0x82, 0x7F, 0, 0, 0, 0, 0x01, 0, 0, 0})), WsParse::kIncomplete);
  EXPECT_EQ(result(bytes({0x81})), WsParse::kIncomplete);
  EXPECT_EQ(result(bytes({0x81, 0x05, 0x48})), WsParse::kIncomplete);
}

TEST(WebSocket, RoundTripsRandomPayloadsCutAnywhere) {
  std::mt19937 rng(5);
  for (int i = 0; i < 200; ++i) {
    // Every length encoding: 7-bit, 16-bit and (now and then) 64-bit.
    std::string payload(i % 50 == 0 ? 65536 + rng() % 1000 : rng() % 1000, '\0');
    for (auto& c : payload)
      c = static_cast<char>(rng());
    const std::array<uint8_t, 4> mask = {static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()),
                                         static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng())};
    const std::string wire = encode_ws_frame(WsOpcode::kBinary, payload, mask) + "next";
    WsFrame f;
    const auto p = parse_ws_frame(wire, true, f);
    ASSERT_EQ(p.result, WsParse::kOk);
    EXPECT_EQ(p.consumed, wire.size() - 4);
    EXPECT_EQ(f.payload, payload);
    const size_t cut = rng() % (wire.size() - 4);
    EXPECT_EQ(parse_ws_frame(std::string_view(wire).substr(0, cut), true, f).result,
              WsParse::kIncomplete);
  }
}

}  // namespace
}  // namespace tern::control
