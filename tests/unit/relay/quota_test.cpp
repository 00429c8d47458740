// Allocation quotas, alone and shared by two cores, as `tern relay`'s event loops share
// them: the per-user and total bounds hold over both, and an ended allocation (or a whole
// core going away) gives its place back. Also data between allocations of different cores,
// which reach each other only through their relayed addresses, as separate loops do.
#include "relay/quota.hpp"

#include "relay_test_util.hpp"

namespace tern::relay::test {
namespace {

TEST(LocalQuota, BoundsPerUserAndInTotal) {
  LocalQuota q(3, 2);
  EXPECT_FALSE(q.acquire("alice"));
  EXPECT_FALSE(q.acquire("alice"));
  EXPECT_EQ(q.acquire("alice"), QuotaRefusal::kUser);
  EXPECT_FALSE(q.acquire("bob"));
  EXPECT_EQ(q.acquire("carol"), QuotaRefusal::kTotal);
  EXPECT_EQ(q.held(), 3u);
  q.release("alice");
  EXPECT_EQ(q.held_by("alice"), 1u);
  EXPECT_FALSE(q.acquire("carol"));
  q.release("nobody");  // never acquired: no effect
  EXPECT_EQ(q.held(), 3u);
}

TEST(LocalQuota, ZeroPerUserMeansOnlyTheTotal) {
  LocalQuota q(5, 0);
  for (int i = 0; i < 5; ++i)
    EXPECT_FALSE(q.acquire("alice"));
  EXPECT_EQ(q.acquire("alice"), QuotaRefusal::kTotal);
}

// Two cores with their own ports and one ledger.
struct TwoCores {
  explicit TwoCores(RelayConfig config) : quota(config.max_allocations, config.user_quota) {
    ports[1].next_port = 60000;
    for (int i = 0; i < 2; ++i) {
      auto made = RelayServer::create(config, ports[i], test_nonce_key(), &quota);
      if (!made) throw std::runtime_error(made.error().message);
      server[i] = std::move(*made);
      server[i]->set_wall_clock(WallTime{kUnixT0 * 1'000'000'000}, kT0);
    }
  }
  TestClient client(int core, std::string_view address, std::string user = "alice",
                    std::string password = "alice-pass") {
    return TestClient(*server[core], FiveTuple{ep(address), kListener, Transport::kUdp},
                      std::move(user), std::move(password));
  }

  LocalQuota quota;
  FakePorts ports[2];
  std::unique_ptr<RelayServer> server[2];
};

TEST(SharedQuota, PerUserQuotaHoldsAcrossCores) {
  RelayConfig config = test_config();
  config.user_quota = 2;
  TwoCores t(config);
  auto a = t.client(0, "203.0.113.10:40000");
  auto b = t.client(1, "203.0.113.10:40001");
  auto c = t.client(0, "203.0.113.10:40002");
  auto d = t.client(1, "203.0.113.10:40003");
  EXPECT_EQ(a.allocate(at(0)).port, 50000);
  EXPECT_EQ(b.allocate(at(0)).port, 60000);
  // Each core holds one of alice's allocations: the third is refused in either.
  for (auto* x : {&c, &d}) {
    auto out = x->request(
        StunMethod::kAllocate, [](StunBuilder& sb) { sb.add_requested_transport(); }, at(1));
    ASSERT_TRUE(out);
    EXPECT_EQ(out->code(), 486);
    EXPECT_EQ(out->reason(), "Allocation Quota Reached for this user");
  }
  EXPECT_EQ(t.server[0]->counters().dropped(RelayDrop::kQuota), 1u);
  EXPECT_EQ(t.server[1]->counters().dropped(RelayDrop::kQuota), 1u);
  // Bob is another user.
  auto bob = t.client(1, "203.0.113.20:40000", "bob", "bob-pass");
  EXPECT_EQ(bob.allocate(at(1)).port, 60001);
  // A deleted allocation in core 1 makes room in core 0.
  auto del = b.refresh(0, at(2));
  ASSERT_TRUE(del && del->is_success());
  EXPECT_EQ(c.allocate(at(2)).port, 50001);
  EXPECT_EQ(t.quota.held_by("alice"), 2u);
  // A core that goes away gives its allocations' places back.
  t.server[0].reset();
  EXPECT_EQ(t.quota.held_by("alice"), 0u);
  EXPECT_EQ(t.quota.held(), 1u);
}

TEST(SharedQuota, TotalQuotaHoldsAcrossCores) {
  RelayConfig config = test_config();
  config.user_quota = 0;
  config.max_allocations = 3;
  TwoCores t(config);
  auto a = t.client(0, "203.0.113.10:40000");
  auto b = t.client(1, "203.0.113.10:40001");
  auto c = t.client(1, "203.0.113.10:40002");
  auto d = t.client(0, "203.0.113.10:40003");
  a.allocate(at(0));
  b.allocate(at(0));
  c.allocate(at(0));
  auto out = d.request(
      StunMethod::kAllocate, [](StunBuilder& sb) { sb.add_requested_transport(); }, at(1));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code(), 486);
  EXPECT_EQ(out->reason(), "Allocation Quota Reached: the relay is full");
  // An allocation that expires in one core frees a place for the other.
  t.server[1]->handle_timeout(at(700));
  EXPECT_EQ(t.server[1]->allocation_count(), 0u);
  EXPECT_NE(d.allocate(at(700)).port, 0);
}

TEST(SharedQuota, AFailedRelaySocketGivesThePlaceBack) {
  RelayConfig config = test_config();
  config.max_allocations = 1;
  TwoCores t(config);
  t.ports[0].capacity = 0;
  auto a = t.client(0, "203.0.113.10:40000");
  auto out = a.request(
      StunMethod::kAllocate, [](StunBuilder& sb) { sb.add_requested_transport(); }, at(0));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code(), 508);
  EXPECT_EQ(t.quota.held(), 0u);
  EXPECT_EQ(t.client(1, "203.0.113.10:40001").allocate(at(1)).port, 60000);
}

// Allocations in different cores relay to each other through their relayed addresses: what
// core 0 sends from A's relayed address to B's arrives at B's relay socket, in core 1.
TEST(SharedQuota, AllocationsInDifferentCoresReachEachOther) {
  TwoCores t(test_config());
  auto a = t.client(0, "203.0.113.10:40000");
  auto b = t.client(1, "203.0.113.11:40000", "bob", "bob-pass");
  const Endpoint ra = a.allocate(at(0));
  const Endpoint rb = b.allocate(at(0));
  ASSERT_TRUE(a.channel_bind(0x4000, rb, at(1))->is_success());
  ASSERT_TRUE(b.channel_bind(0x4001, ra, at(1))->is_success());

  for (int dir = 0; dir < 2; ++dir) {
    auto& from = dir == 0 ? a : b;
    const uint16_t channel = dir == 0 ? 0x4000 : 0x4001;
    const Endpoint src = dir == 0 ? ra : rb, dst = dir == 0 ? rb : ra;
    RelayServer& other = *t.server[dir == 0 ? 1 : 0];
    const auto payload = bytes_of(dir == 0 ? "from a to b" : "and back, b to a");
    auto out = from.channel_data(channel, payload, at(2));
    ASSERT_TRUE(out);
    EXPECT_EQ(out->source, Transmit::Source::kRelay);
    EXPECT_EQ(out->from, src);
    EXPECT_EQ(out->to, dst);
    EXPECT_EQ(out->data, payload);
    auto in = from_peer(other, dst, src, out->data, at(2));
    ASSERT_TRUE(in);
    EXPECT_EQ(in->source, Transmit::Source::kListener);
    EXPECT_EQ(in->to, (dir == 0 ? b : a).tuple().client);
    ASSERT_TRUE(wire::is_channel_data(in->data));
    const auto framed = wire::parse_channel_data(in->data);
    ASSERT_TRUE(framed);
    EXPECT_EQ(framed->channel, dir == 0 ? 0x4001 : 0x4000);
    EXPECT_EQ(std::vector<uint8_t>(framed->data.begin(), framed->data.end()), payload);
  }
}

}  // namespace
}  // namespace tern::relay::test
