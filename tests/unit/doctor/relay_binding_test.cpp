// The relay check's reachability Binding: a good answer from the server is taken; answers that
// are ours but unreadable, or come from elsewhere, are counted and waited past; an error ends it.
#include "doctor/relay_binding.hpp"

#include <gtest/gtest.h>

#include "wire/stun_builder.hpp"

namespace tern::doctor {
namespace {

const Instant kT0 = instant_from_ns(1'000'000'000);
const Endpoint kServer = *Endpoint::parse("192.0.2.1:3478");
const Endpoint kElsewhere = *Endpoint::parse("192.0.2.1:3479");
const Endpoint kMapped = *Endpoint::parse("198.51.100.7:40000");

RelayBinding binding() {
  return RelayBinding(kT0, core::StunTransport::kUdp, core::RetransmitPolicy{});
}

std::vector<uint8_t> answer(const wire::TransactionId& id, bool error = false) {
  std::vector<uint8_t> out(256);
  wire::StunBuilder b(out, wire::StunMethod::kBinding,
                      error ? wire::StunClass::kError : wire::StunClass::kSuccess, id);
  if (error) {
    b.add_error_code(400, "Bad Request");
  } else {
    b.add_xor_address(wire::StunAttr::kXorMappedAddress, kMapped);
  }
  out.resize(b.size());
  return out;
}

TEST(RelayBinding, TakesTheServersAnswer) {
  auto b = binding();
  b.receive(kServer, kServer, answer(b.id), kT0 + std::chrono::milliseconds(3));
  ASSERT_TRUE(b.done());
  EXPECT_EQ(b.mapped, kMapped);
  EXPECT_EQ(b.rtt, std::chrono::milliseconds(3));
  EXPECT_EQ(b.unusable.total(), 0u);
}

TEST(RelayBinding, CountsUnusableAnswersAndWaitsPastThem) {
  auto b = binding();
  auto truncated = answer(b.id);
  truncated[3] = static_cast<uint8_t>(truncated[3] + 40);  // claims more than follows
  b.receive(kServer, kServer, truncated, kT0);
  b.receive(kElsewhere, kServer, answer(b.id), kT0);
  EXPECT_FALSE(b.done());
  EXPECT_EQ(b.unusable.malformed, 1u);
  EXPECT_EQ(b.unusable.wrong_source, 1u);
  EXPECT_EQ(b.unusable.last, "an answer from 192.0.2.1:3479, not from 192.0.2.1:3478");
  // Somebody else's transaction is not an answer at all.
  auto other = b.id;
  other[0] ^= 1;
  b.receive(kServer, kServer, answer(other), kT0);
  b.receive(kServer, kServer, std::vector<uint8_t>(40, 0x55), kT0);
  EXPECT_EQ(b.unusable.total(), 2u);
  b.receive(kServer, kServer, answer(b.id), kT0);
  EXPECT_EQ(b.mapped, kMapped);
}

TEST(RelayBinding, AnErrorAnswerEndsIt) {
  auto b = binding();
  b.receive(kServer, kServer, answer(b.id, true), kT0);
  ASSERT_TRUE(b.done());
  EXPECT_FALSE(b.mapped);
  EXPECT_NE(b.error.find("error 400"), std::string::npos) << b.error;
}

}  // namespace
}  // namespace tern::doctor
