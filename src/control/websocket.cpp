#include "control/websocket.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>

#include "crypto/sodium.hpp"

namespace tern::control {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool known_opcode(uint8_t op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
  return out;
}

// "keep-alive, Upgrade" contains the token "upgrade".
bool has_token(std::string_view list, std::string_view token) {
  const std::string l = lowercase(list);
  size_t start = 0;
  while (start <= l.size()) {
    size_t comma = l.find(',', start);
    if (comma == std::string::npos) comma = l.size();
    std::string_view item = std::string_view(l).substr(start, comma - start);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (item == token) return true;
    start = comma + 1;
  }
  return false;
}

}  // namespace

WsParsed parse_ws_frame(std::string_view data, bool masked, WsFrame& out, size_t max_payload) {
  if (data.size() < 2) return {WsParse::kIncomplete, 0};
  const auto b0 = static_cast<uint8_t>(data[0]);
  const auto b1 = static_cast<uint8_t>(data[1]);
  const bool fin = b0 & 0x80;
  const uint8_t opcode = b0 & 0x0F;
  if ((b0 & 0x70) != 0 || !known_opcode(opcode)) return {WsParse::kBad, 0};
  if (static_cast<bool>(b1 & 0x80) != masked) return {WsParse::kBad, 0};
  const bool control = opcode >= 0x8;
  uint64_t length = b1 & 0x7F;
  size_t pos = 2;
  if (control && (!fin || length > 125)) return {WsParse::kBad, 0};
  if (length == 126) {
    if (data.size() < pos + 2) return {WsParse::kIncomplete, 0};
    length = (uint64_t{static_cast<uint8_t>(data[2])} << 8) | static_cast<uint8_t>(data[3]);
    if (length < 126) return {WsParse::kBad, 0};  // not the minimal encoding
    pos += 2;
  } else if (length == 127) {
    if (data.size() < pos + 8) return {WsParse::kIncomplete, 0};
    length = 0;
    for (size_t i = 0; i < 8; ++i)
      length = (length << 8) | static_cast<uint8_t>(data[2 + i]);
    if (length >> 63) return {WsParse::kBad, 0};
    if (length <= 0xFFFF) return {WsParse::kBad, 0};
    pos += 8;
  }
  if (length > max_payload) return {WsParse::kTooLarge, 0};
  std::array<uint8_t, 4> mask{};
  if (masked) {
    if (data.size() < pos + 4) return {WsParse::kIncomplete, 0};
    for (size_t i = 0; i < 4; ++i)
      mask[i] = static_cast<uint8_t>(data[pos + i]);
    pos += 4;
  }
  if (data.size() - pos < length) return {WsParse::kIncomplete, 0};
  out.fin = fin;
  out.opcode = static_cast<WsOpcode>(opcode);
  out.payload.assign(data.substr(pos, static_cast<size_t>(length)));
  if (masked) {
    for (size_t i = 0; i < out.payload.size(); ++i) {
      out.payload[i] = static_cast<char>(static_cast<uint8_t>(out.payload[i]) ^ mask[i % 4]);
    }
  }
  return {WsParse::kOk, pos + static_cast<size_t>(length)};
}

namespace {

void append_head(std::string& out, WsOpcode opcode, uint64_t n, uint8_t mask_bit) {
  out.push_back(static_cast<char>(0x80 | static_cast<uint8_t>(opcode)));
  if (n < 126) {
    out.push_back(static_cast<char>(mask_bit | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>(n >> shift));
  }
}

}  // namespace

std::string ws_frame_head(WsOpcode opcode, uint64_t size) {
  std::string out;
  append_head(out, opcode, size, 0);
  return out;
}

std::string encode_ws_frame(WsOpcode opcode, std::string_view payload,
                            std::optional<std::array<uint8_t, 4>> mask) {
  std::string out;
  out.reserve(payload.size() + 14);
  append_head(out, opcode, payload.size(), mask ? 0x80 : 0);
  if (mask) {
    for (uint8_t m : *mask)
      out.push_back(static_cast<char>(m));
    for (size_t i = 0; i < payload.size(); ++i) {
      out.push_back(static_cast<char>(static_cast<uint8_t>(payload[i]) ^ (*mask)[i % 4]));
    }
  } else {
    out.append(payload);
  }
  return out;
}

std::string ws_accept_key(std::string_view client_key) {
  std::string input(client_key);
  input += kGuid;
  unsigned char digest[20];
  unsigned int len = 0;
  // SHA-1 here is the protocol's fixed transform of a nonce, not a security choice.
  EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha1(), nullptr);
  (void)crypto::ensure_sodium();
  char text[sodium_base64_ENCODED_LEN(20, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(text, sizeof text, digest, sizeof digest, sodium_base64_VARIANT_ORIGINAL);
  return text;
}

Result<std::string> check_ws_upgrade(const HttpRequest& request) {
  if (request.method != "GET") return fail("a WebSocket opens with GET");
  const auto upgrade = request.header("upgrade");
  const auto connection = request.header("connection");
  if (!upgrade || lowercase(*upgrade) != "websocket") return fail("Upgrade: websocket is missing");
  if (!connection || !has_token(*connection, "upgrade")) {
    return fail("Connection: Upgrade is missing");
  }
  const auto version = request.header("sec-websocket-version");
  if (!version || *version != "13") return fail("Sec-WebSocket-Version must be 13");
  const auto key = request.header("sec-websocket-key");
  // 16 random bytes in base64 are 24 characters ending in "==".
  if (!key || key->size() != 24 || !key->ends_with("==")) {
    return fail("Sec-WebSocket-Key must be 16 bytes in base64");
  }
  (void)crypto::ensure_sodium();
  unsigned char raw[16];
  size_t raw_len = 0;
  if (sodium_base642bin(raw, sizeof raw, key->data(), key->size(), nullptr, &raw_len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      raw_len != 16) {
    return fail("Sec-WebSocket-Key must be 16 bytes in base64");
  }
  return ws_accept_key(*key);
}

}  // namespace tern::control
