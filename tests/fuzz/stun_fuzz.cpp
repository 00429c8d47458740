// Fuzzes the STUN/TURN codec with one input read three ways: as a STUN message,
// as ChannelData, and as a TCP/TLS byte stream cut into pieces. Whatever parses
// is built again (MESSAGE-INTEGRITY, -SHA256 and FINGERPRINT recomputed with a
// fixed key) and must parse back to the same attributes and verify; every
// typed decoder runs on every attribute value.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "wire/channel_data.hpp"
#include "wire/stun.hpp"
#include "wire/stun_attributes.hpp"
#include "wire/stun_builder.hpp"
#include "wire/stun_fingerprint.hpp"
#include "wire/stun_integrity.hpp"
#include "wire/stun_tcp_framing.hpp"

using namespace tern;
using namespace tern::wire;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

constexpr uint8_t kKey[] = {'f', 'u', 'z', 'z', '-', 'k', 'e', 'y'};

void decode_everything(Bytes v, const TransactionId& id) {
  std::array<PasswordAlgorithm, 4> algorithms;
  (void)decode_address(v);
  (void)decode_xor_address(v, id);
  (void)decode_text(v, kStunMaxText);
  (void)decode_error_code(v);
  if (auto list = decode_unknown_attributes(v)) {
    for (size_t i = 0; i < list->size(); ++i)
      (void)(*list)[i];
  }
  (void)decode_u32(v);
  (void)decode_requested_transport(v);
  (void)decode_address_family(v);
  (void)decode_channel_number(v);
  (void)decode_change_request(v);
  (void)decode_userhash(v);
  if (auto n = decode_password_algorithms(v, algorithms)) {
    for (size_t i = 0; i < std::min(*n, algorithms.size()); ++i)
      require(algorithms[i].parameters.data() >= v.data() &&
              algorithms[i].parameters.data() + algorithms[i].parameters.size() <=
                  v.data() + v.size());
  }
  (void)decode_password_algorithm(v);
  // Typed values re-encode to what they decoded from.
  if (auto e = decode_xor_address(v, id)) {
    std::array<uint8_t, 20> out;
    const size_t n = encode_xor_address(*e, id, out);
    require(n == v.size() && std::memcmp(out.data() + 1, v.data() + 1, n - 1) == 0);
  }
}

void check_stun(Bytes in) {
  const bool classified = is_stun(in);
  auto m = StunMessage::parse(in);
  require(!m || classified);
  require(!(classified && is_channel_data(in)));
  if (!m) return;

  const TransactionId id = m->transaction_id();
  std::vector<StunAttribute> shown;
  for (const StunAttribute& a : *m) {
    require(a.value.data() >= in.data() + kStunHeaderSize);
    require(a.value.data() + a.value.size() <= in.data() + in.size());
    decode_everything(a.value, id);
    shown.push_back(a);
  }
  std::array<uint16_t, 8> unknown;
  (void)m->unknown_comprehension_required(unknown);
  (void)check_message_integrity(*m, kKey);
  (void)check_message_integrity_sha256(*m, kKey);
  (void)check_fingerprint(*m);

  // Build it again; the integrity attributes are recomputed with the fixed key.
  static std::vector<uint8_t> buf(kStunMaxMessageSize);
  StunBuilder b(buf, m->type(), id);
  for (const StunAttribute& a : shown) {
    if (a.is(StunAttr::kMessageIntegrity)) {
      b.add_message_integrity(kKey);
    } else if (a.is(StunAttr::kMessageIntegritySha256)) {
      b.add_message_integrity_sha256(kKey);  // may grow a truncated one to 32 bytes
    } else if (a.is(StunAttr::kFingerprint)) {
      b.add_fingerprint();
    } else {
      b.add(a.type, a.value);
    }
  }
  auto out = b.finish();
  if (!out) {
    require(in.size() > kStunMaxMessageSize - 16 * 2);
    return;
  }
  auto again = StunMessage::parse(*out);
  require(again.has_value());
  require(again->type() == m->type() && again->transaction_id() == id);
  size_t i = 0;
  for (const StunAttribute& a : *again) {
    require(i < shown.size() && a.type == shown[i].type);
    if (!a.is(StunAttr::kMessageIntegrity) && !a.is(StunAttr::kMessageIntegritySha256) &&
        !a.is(StunAttr::kFingerprint)) {
      require(a.value.size() == shown[i].value.size());
      require(a.value.empty() ||
              std::memcmp(a.value.data(), shown[i].value.data(), a.value.size()) == 0);
    }
    ++i;
  }
  require(i == shown.size());
  require(check_message_integrity(*again, kKey) ==
          (m->integrity_offset() ? StunCheck::kValid : StunCheck::kAbsent));
  require(check_message_integrity_sha256(*again, kKey) ==
          (m->integrity_sha256_offset() ? StunCheck::kValid : StunCheck::kAbsent));
  require(check_fingerprint(*again) ==
          (m->fingerprint_offset() ? StunCheck::kValid : StunCheck::kAbsent));
}

void check_channel_data(Bytes in) {
  auto v = parse_channel_data(in);
  require(!v || is_channel_data(in));
  if (!v) return;
  require(is_valid_channel(v->channel));
  static std::vector<uint8_t> buf(4 + 0xFFFF + 3);
  const size_t n = write_channel_data(v->channel, v->data, /*pad=*/false, buf);
  require(n == kChannelDataHeaderSize + v->data.size());
  require(std::memcmp(buf.data(), in.data(), n) == 0);
}

// The stream cut at sizes taken from the input itself, against one feed.
void check_stream(Bytes in) {
  StunStreamFramer whole(4096), pieces(4096);
  std::vector<std::vector<uint8_t>> expected;
  for (size_t pos = 0;;) {
    const size_t n = whole.feed(in.subspan(pos));
    pos += n;
    const size_t before = expected.size();
    bool more = true;
    while (more) {
      auto f = whole.next();
      more = f && *f;
      if (!more) break;
      expected.emplace_back((*f)->bytes.begin(), (*f)->bytes.end());
      if ((*f)->kind == StreamFrameKind::kStun) {
        check_stun((*f)->bytes);
      } else {
        check_channel_data((*f)->bytes);
      }
    }
    if (pos == in.size() || (n == 0 && expected.size() == before)) break;
  }
  size_t pos = 0, k = 0, step = 0;
  while (pos < in.size()) {
    const size_t piece = 1 + in[step++ % in.size()] % 97;
    pos += pieces.feed(in.subspan(pos, std::min(piece, in.size() - pos)));
    for (;;) {
      auto f = pieces.next();
      if (!f || !*f) break;
      require(k < expected.size());
      require((*f)->bytes.size() == expected[k].size());
      require(std::memcmp((*f)->bytes.data(), expected[k].data(), expected[k].size()) == 0);
      ++k;
    }
    if (pieces.buffered() == pieces.max_frame()) break;  // only after an error
  }
  require(k == expected.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Bytes in(data, size);
  check_stun(in);
  check_channel_data(in);
  check_stream(in);
  return 0;
}
