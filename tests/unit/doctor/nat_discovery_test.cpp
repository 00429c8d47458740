#include "doctor/nat_discovery.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "doctor/fake_nat.hpp"
#include "doctor/nat_report.hpp"

namespace tern::doctor {
namespace {

using test::ep;
using test::FakeNet;

NatDiscoveryResult discover(FakeNet& net, bool second_server = false) {
  NatDiscovery::Config c;
  c.servers = {net.primary};
  if (second_server) c.servers.push_back(net.second_server);
  for (size_t i = 0; i < NatDiscovery::kSockets; ++i)
    c.local[i] = net.local(i);
  const Instant start = instant_from_ns(1'000'000'000);
  NatDiscovery d(c, start);
  const Instant end = net.run(d, start);
  EXPECT_TRUE(d.done());
  // Every silence costs at most one give-up time: three of them and the answers.
  EXPECT_LT(end - start, std::chrono::seconds(12));
  return d.result();
}

struct Case {
  Mapping mapping;
  Filtering filtering;
};

class NatBehaviour : public ::testing::TestWithParam<Case> {};

TEST_P(NatBehaviour, TellsTheFakeNatsBehaviour) {
  FakeNet net;
  net.mapping = GetParam().mapping;
  net.filtering = GetParam().filtering;
  auto r = discover(net);
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.mapping, GetParam().mapping) << r.mapping_detail;
  EXPECT_EQ(r.filtering, GetParam().filtering) << r.filtering_detail;
  ASSERT_TRUE(r.other_address);
  EXPECT_EQ(*r.other_address, net.alternate);
  ASSERT_TRUE(r.hairpinning);
  EXPECT_FALSE(*r.hairpinning);
  EXPECT_EQ(r.port_preserved, std::optional<bool>(true));
  EXPECT_TRUE(r.server_faults.empty());
}

INSTANTIATE_TEST_SUITE_P(
    AllNine, NatBehaviour,
    ::testing::Values(Case{Mapping::kEndpointIndependent, Filtering::kEndpointIndependent},
                      Case{Mapping::kEndpointIndependent, Filtering::kAddressDependent},
                      Case{Mapping::kEndpointIndependent, Filtering::kAddressAndPortDependent},
                      Case{Mapping::kAddressDependent, Filtering::kEndpointIndependent},
                      Case{Mapping::kAddressDependent, Filtering::kAddressDependent},
                      Case{Mapping::kAddressDependent, Filtering::kAddressAndPortDependent},
                      Case{Mapping::kAddressAndPortDependent, Filtering::kEndpointIndependent},
                      Case{Mapping::kAddressAndPortDependent, Filtering::kAddressDependent},
                      Case{Mapping::kAddressAndPortDependent,
                           Filtering::kAddressAndPortDependent}));

TEST(NatDiscovery, HairpinningIsSeenWhenTheNatDoesIt) {
  FakeNet net;
  net.hairpin = true;
  net.filtering = Filtering::kEndpointIndependent;
  auto r = discover(net);
  EXPECT_EQ(r.hairpinning, std::optional<bool>(true));
}

TEST(NatDiscovery, PortNotPreserved) {
  FakeNet net;
  net.preserve_ports = false;
  auto r = discover(net);
  EXPECT_EQ(r.port_preserved, std::optional<bool>(false));
  EXPECT_EQ(r.mapping, Mapping::kEndpointIndependent);
}

TEST(NatDiscovery, OneServerAddressSaysWhatCannotBeTold) {
  FakeNet net;
  net.has_alternate = false;
  auto r = discover(net);
  EXPECT_TRUE(r.error.empty());
  EXPECT_EQ(r.mapping, Mapping::kUnknown);
  EXPECT_NE(r.mapping_detail.find("cannot be told"), std::string::npos) << r.mapping_detail;
  EXPECT_EQ(r.filtering, Filtering::kUnknown);
  EXPECT_NE(r.filtering_detail.find("two addresses"), std::string::npos);
}

TEST(NatDiscovery, TwoPlainServersTellDependentMapping) {
  FakeNet net;
  net.has_alternate = false;
  net.mapping = Mapping::kAddressAndPortDependent;
  auto r = discover(net, true);
  EXPECT_EQ(r.mapping, Mapping::kDependent);
  EXPECT_TRUE(is_symmetric(r.mapping));
  FakeNet eim;
  eim.has_alternate = false;
  EXPECT_EQ(discover(eim, true).mapping, Mapping::kEndpointIndependent);
}

TEST(NatDiscovery, NoNatWhenTheServerSeesTheSocketItself) {
  FakeNet net;
  net.outside = net.inside;  // a NAT that does not translate
  auto r = discover(net);
  EXPECT_EQ(r.mapping, Mapping::kNoNat);
  EXPECT_FALSE(r.hairpinning);  // not asked: there is no NAT to hairpin
}

TEST(NatDiscovery, SilentServerIsAnErrorWithinBoundedTime) {
  FakeNet net;
  net.silent = true;
  auto r = discover(net);
  EXPECT_NE(r.error.find("no usable answer"), std::string::npos) << r.error;
  auto f = nat_findings(NatReport{r, std::nullopt, 25});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].code, "stun_unreachable");
}

TEST(NatDiscovery, AnswersFromTheWrongSourceAreIgnored) {
  FakeNet net;
  net.answer_from_wrong_source = true;
  net.filtering = Filtering::kEndpointIndependent;  // so the answers get through the NAT
  auto r = discover(net);
  EXPECT_FALSE(r.error.empty());
  EXPECT_GT(r.wrong_source_answers, 0u);
  EXPECT_FALSE(r.server_faults.empty());
  // The server answered: the finding is its fault, not an unreachable server.
  auto f = nat_findings(NatReport{r, std::nullopt, 25});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].code, "stun_server_fault");
  EXPECT_NE(f[0].message.find("not firewalled"), std::string::npos) << f[0].message;
}

TEST(NatDiscovery, MalformedAnswersAreCountedAndTheGoodOneUsed) {
  FakeNet net;
  net.send_malformed_first = true;
  auto r = discover(net);
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_GT(r.malformed_answers, 0u);
  EXPECT_EQ(r.mapping, Mapping::kEndpointIndependent);
  bool fault = false;
  for (const auto& f : nat_findings(NatReport{r, std::nullopt, 25})) {
    fault = fault || f.code == "stun_server_fault";
  }
  EXPECT_TRUE(fault);
}

std::vector<NatFinding> server_faults(const NatDiscoveryResult& r) {
  std::vector<NatFinding> out;
  for (const auto& f : nat_findings(NatReport{r, std::nullopt, 25})) {
    if (f.code == "stun_server_fault") out.push_back(f);
  }
  return out;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(NatDiscovery, OneFindingPerServerItsMalformedAnswersCountedInIt) {
  FakeNet net;
  net.send_malformed_first = true;  // before every good answer, from either of its addresses
  auto r = discover(net);
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_GT(r.malformed_answers, 1u);
  auto f = server_faults(r);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_TRUE(contains(f[0].message, "sent ")) << f[0].message;  // what the first one was
  EXPECT_TRUE(contains(f[0].message, fmt::format("({} malformed answers)", r.malformed_answers)))
      << f[0].message;

  // Two servers (plain STUN), both sending garbage first: a finding each, each with its count.
  FakeNet two;
  two.send_malformed_first = true;
  two.has_alternate = false;
  r = discover(two, true);
  ASSERT_TRUE(r.error.empty()) << r.error;
  f = server_faults(r);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_TRUE(contains(f[0].message, two.primary.to_string())) << f[0].message;
  EXPECT_TRUE(contains(f[1].message, two.second_server.to_string())) << f[1].message;
}

TEST(NatDiscovery, AServerThatPlacesUsAtItsOwnAddressIsAFault) {
  FakeNet net;
  net.map_to_server_itself = true;
  auto r = discover(net);
  EXPECT_FALSE(r.error.empty());
  EXPECT_GT(r.malformed_answers, 0u);
  ASSERT_FALSE(r.server_faults.empty());
  EXPECT_NE(r.server_faults[0].find("the server's own address"), std::string::npos)
      << r.server_faults[0];
  auto f = nat_findings(NatReport{r, std::nullopt, 25});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].code, "stun_server_fault");
}

TEST(NatDiscovery, ServerIgnoringChangeRequestIsNotTakenForOpenFiltering) {
  FakeNet net;
  net.ignore_change_request = true;
  auto r = discover(net);
  EXPECT_EQ(r.filtering, Filtering::kUnknown);
  ASSERT_FALSE(r.server_faults.empty());
  EXPECT_NE(r.server_faults[0].find("CHANGE-REQUEST"), std::string::npos);
}

TEST(NatDiscovery, SymmetricMappingIsAFinding) {
  FakeNet net;
  net.mapping = Mapping::kAddressAndPortDependent;
  auto f = nat_findings(NatReport{discover(net), std::nullopt, 25});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].code, "nat_symmetric");
  FakeNet good;
  EXPECT_TRUE(nat_findings(NatReport{discover(good), std::nullopt, 25}).empty());
}

TEST(StunProbe, ReadsOnlyItsOwnTransaction) {
  BindingRequest a;
  a.id[0] = 1;
  BindingRequest b;
  b.id[0] = 2;
  auto bytes = build_binding_request(a);
  EXPECT_EQ(read_binding_answer(bytes, b.id).kind, AnswerKind::kNotOurs);
  // A request is not an answer.
  EXPECT_EQ(read_binding_answer(bytes, a.id).kind, AnswerKind::kNotOurs);
  const uint8_t junk[3] = {1, 2, 3};
  EXPECT_EQ(read_binding_answer(Bytes(junk, 3), a.id).kind, AnswerKind::kNotOurs);
}

TEST(StunProbe, OversizedAnswerIsReadWhole) {
  BindingRequest r;
  r.id[0] = 7;
  std::vector<uint8_t> out(4000);
  wire::StunBuilder b(out, wire::StunMethod::kBinding, wire::StunClass::kSuccess, r.id);
  const std::vector<uint8_t> pad(3000, 0xEE);
  b.add(wire::StunAttr::kPadding, pad);
  b.add_xor_address(wire::StunAttr::kXorMappedAddress, ep("192.0.2.1:40000"));
  auto bytes = b.finish();
  ASSERT_TRUE(bytes);
  auto read = read_binding_answer(*bytes, r.id);
  ASSERT_EQ(read.kind, AnswerKind::kAnswer);
  EXPECT_EQ(read.answer->mapped, ep("192.0.2.1:40000"));
  // Cut short, the same answer is malformed, and said to be.
  auto cut = read_binding_answer(bytes->first(bytes->size() - 4), r.id);
  EXPECT_EQ(cut.kind, AnswerKind::kMalformed);
  EXPECT_FALSE(cut.detail.empty());
}

TEST(StunProbe, ResponsePortIsWrittenAsRfc5780Says) {
  BindingRequest r;
  r.response_port = 0x1234;
  auto bytes = build_binding_request(r);
  auto m = wire::StunMessage::parse(bytes);
  ASSERT_TRUE(m);
  auto a = m->find(wire::StunAttr::kResponsePort);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->value.size(), 4u);
  EXPECT_EQ(a->value[0], 0x12);
  EXPECT_EQ(a->value[1], 0x34);
}

}  // namespace
}  // namespace tern::doctor
