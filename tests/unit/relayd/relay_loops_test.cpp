// `tern relay` with two event loops on threads, over loopback: clients land on the loops the
// kernel's SO_REUSEPORT hash picks; two allocations in different loops relay to each other
// through their relayed addresses (plain UDP sockets), byte for byte both ways; the per-user
// quota holds over both loops; and the counters the loops publish add up.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "crypto/random.hpp"
#include "io/fd.hpp"
#include "io/sockaddr.hpp"
#include "relayd/listen_group.hpp"
#include "relayd/relay_loop.hpp"
#include "wire/channel_data.hpp"
#include "wire/stun.hpp"
#include "wire/stun_attributes.hpp"
#include "wire/stun_builder.hpp"
#include "wire/stun_integrity.hpp"

namespace tern::relayd {
namespace {

using wire::StunAttr;
using wire::StunBuilder;
using wire::StunMethod;
constexpr std::string_view kRealm = "loops";
const IpAddress kLoopback = IpAddress::v4(0x7F000001u);

// A blocking UDP TURN client with long-term credentials, written with the codec.
class Client {
 public:
  Client(Endpoint server, std::string user, std::string password)
      : server_(server), user_(std::move(user)), password_(std::move(password)) {
    fd_ = io::UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_storage ss{};
    const socklen_t len = io::to_sockaddr(Endpoint{kLoopback, 0}, false, ss);
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&ss), len), 0);
    timeval tv{2, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  void send(const std::vector<uint8_t>& bytes) {
    sockaddr_storage ss{};
    const socklen_t len = io::to_sockaddr(server_, false, ss);
    ASSERT_EQ(
        ::sendto(fd_.get(), bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&ss), len),
        static_cast<ssize_t>(bytes.size()));
  }
  std::optional<std::vector<uint8_t>> receive() {
    std::vector<uint8_t> buf(2048);
    const ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<size_t>(n));
    return buf;
  }

  // A request answered (after a 401 challenge); the error code (0: success) and the answer.
  std::pair<uint16_t, std::vector<uint8_t>> request(StunMethod method,
                                                    const std::function<void(StunBuilder&)>& add) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::vector<uint8_t> buf(1024);
      wire::TransactionId id{};
      crypto::random_bytes(id);
      StunBuilder b(buf, method, wire::StunClass::kRequest, id);
      add(b);
      if (nonce_) {
        b.add_text(StunAttr::kUsername, user_);
        b.add_text(StunAttr::kRealm, kRealm);
        b.add_text(StunAttr::kNonce, *nonce_);
        b.add_message_integrity(wire::stun_long_term_key_md5(user_, kRealm, password_));
      }
      buf.resize(b.size());
      send(buf);
      for (;;) {
        auto got = receive();
        if (!got) return {0xFFFF, {}};
        auto m = wire::StunMessage::parse(*got);
        if (!m || m->transaction_id() != id) continue;  // data or a late answer
        uint16_t code = 0;
        if (auto e = m->find(StunAttr::kErrorCode)) code = wire::decode_error_code(e->value)->code;
        if ((code == 401 || code == 438) && m->find(StunAttr::kNonce)) {
          const bool had = nonce_.has_value();
          nonce_ = std::string(wire::as_text(m->find(StunAttr::kNonce)->value));
          if (code == 438 || !had) break;  // once more, signed
        }
        return {code, *got};
      }
    }
    return {0xFFFE, {}};
  }

  uint16_t allocate() {
    auto [code, answer] =
        request(StunMethod::kAllocate, [](StunBuilder& b) { b.add_requested_transport(); });
    if (code == 0) {
      auto m = wire::StunMessage::parse(answer);
      relayed = *wire::decode_xor_address(m->find(StunAttr::kXorRelayedAddress)->value,
                                          m->transaction_id());
    }
    return code;
  }
  uint16_t release() {
    return request(StunMethod::kRefresh, [](StunBuilder& b) { b.add_lifetime(0); }).first;
  }
  uint16_t bind(uint16_t channel, const Endpoint& peer) {
    return request(StunMethod::kChannelBind,
                   [&](StunBuilder& b) {
                     b.add_channel_number(channel);
                     b.add_xor_address(StunAttr::kXorPeerAddress, peer);
                   })
        .first;
  }
  void channel_data(uint16_t channel, const std::vector<uint8_t>& data) {
    std::vector<uint8_t> buf(wire::channel_data_size(data.size(), false));
    ASSERT_GT(wire::write_channel_data(channel, data, false, buf), 0u);
    send(buf);
  }

  Endpoint relayed;

 private:
  Endpoint server_;
  std::string user_, password_;
  std::optional<std::string> nonce_;
  io::UniqueFd fd_;
};

class RelayLoopsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.relay.realm = std::string(kRealm);
    config_.relay.users = {{"alice", "a-pass"}, {"bob", "b-pass"}};
    config_.relay.user_quota = 2;
    config_.relay.allowed_peers = {*IpPrefix::parse("127.0.0.0/8")};
    config_.relay_addresses = {kLoopback};
    config_.port_min = 40000;
    config_.port_max = 60000;
    auto stop = StopSignal::create();
    ASSERT_TRUE(stop);
    shared_ = std::make_unique<LoopShared>(2, config_.relay, config_.port_min, config_.port_max,
                                           12345, std::move(*stop));
    crypto::random_bytes(shared_->nonce_key);
    auto group = bind_listener_group(Endpoint{kLoopback, 0}, 2);
    ASSERT_TRUE(group) << group.error().message;
    ASSERT_EQ(group->size(), 2u);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ASSERT_EQ(::getsockname((*group)[0].fd(), reinterpret_cast<sockaddr*>(&ss), &len), 0);
    server_ = io::from_sockaddr(ss);
    config_.listen = {server_};
    for (size_t i = 0; i < 2; ++i) {
      LoopSetup setup;
      setup.index = i;
      setup.loops = 2;
      setup.listeners.push_back(std::move((*group)[i]));
      auto loop = RelayLoop::create(config_, std::move(setup), *shared_);
      ASSERT_TRUE(loop) << loop.error().message;
      loops_.push_back(std::move(*loop));
    }
    for (auto& l : loops_)
      threads_.emplace_back([&l] { EXPECT_TRUE(l->run()); });
  }
  void TearDown() override {
    if (shared_) shared_->stop.trigger();
    for (auto& t : threads_)
      t.join();
    loops_.clear();  // closes the allocations, giving their quota back
    if (shared_) {
      EXPECT_EQ(shared_->quota.held(), 0u);
    }
  }

  // Allocations per loop as published, once `total` are (each loop publishes after a wakeup,
  // which may be just after the answer left).
  std::array<uint64_t, 2> allocations(uint64_t total) {
    std::array<uint64_t, 2> per{};
    for (int i = 0; i < 200; ++i) {
      for (size_t l = 0; l < 2; ++l)
        per[l] = shared_->stats.at(l).relay.allocations_current;
      if (per[0] + per[1] == total) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return per;
  }

  RelaydConfig config_;
  std::unique_ptr<LoopShared> shared_;
  std::vector<std::unique_ptr<RelayLoop>> loops_;
  std::vector<std::thread> threads_;
  Endpoint server_;
};

TEST_F(RelayLoopsTest, AllocationsInDifferentLoopsRelayToEachOther) {
  auto alice = std::make_unique<Client>(server_, "alice", "a-pass");
  ASSERT_EQ(alice->allocate(), 0);
  const auto first = allocations(1);
  const size_t alice_loop = first[0] == 1 ? 0 : 1;
  // Bob's clients (new source ports) until one lands on the other loop; the kernel's hash
  // sends each to either with even odds, so 40 tries all on one loop is a 1e-12 chance.
  std::unique_ptr<Client> bob;
  for (int i = 0; i < 40 && !bob; ++i) {
    auto c = std::make_unique<Client>(server_, "bob", "b-pass");
    ASSERT_EQ(c->allocate(), 0);
    if (allocations(2)[1 - alice_loop] == 1) {
      bob = std::move(c);
    } else {
      ASSERT_EQ(c->release(), 0);
      (void)allocations(1);
    }
  }
  ASSERT_TRUE(bob) << "every client landed on loop " << alice_loop;

  ASSERT_EQ(alice->bind(0x4000, bob->relayed), 0);
  ASSERT_EQ(bob->bind(0x4001, alice->relayed), 0);
  for (int round = 0; round < 20; ++round) {
    const bool up = round % 2 == 0;
    Client& from = up ? *alice : *bob;
    Client& to = up ? *bob : *alice;
    std::vector<uint8_t> payload(100 + static_cast<size_t>(round) * 37);
    crypto::random_bytes(payload);
    from.channel_data(up ? 0x4000 : 0x4001, payload);
    auto got = to.receive();
    ASSERT_TRUE(got) << "round " << round << ": nothing arrived";
    auto cd = wire::parse_channel_data(*got);
    ASSERT_TRUE(cd);
    EXPECT_EQ(cd->channel, up ? 0x4001 : 0x4000);
    EXPECT_EQ(std::vector<uint8_t>(cd->data.begin(), cd->data.end()), payload);
  }
  // Each loop relayed what its client sent and what came to its relayed address.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (size_t l = 0; l < 2; ++l) {
    const auto s = shared_->stats.at(l);
    EXPECT_EQ(s.relay.to_peer.packets, 10u) << "loop " << l;
    EXPECT_EQ(s.relay.to_client.packets, 10u) << "loop " << l;
    EXPECT_EQ(s.relay_sockets, 1u) << "loop " << l;
  }
  EXPECT_EQ(shared_->stats.sum().relay.to_peer.packets, 20u);
}

TEST_F(RelayLoopsTest, PerUserQuotaHoldsAcrossLoops) {
  // Alice's allocations until she has one in each loop (she may hold two).
  std::vector<std::unique_ptr<Client>> held;
  std::array<bool, 2> has{};
  for (int i = 0; i < 40 && !(has[0] && has[1]); ++i) {
    const auto before = allocations(held.size());
    auto c = std::make_unique<Client>(server_, "alice", "a-pass");
    ASSERT_EQ(c->allocate(), 0);
    const auto now = allocations(held.size() + 1);
    const size_t landed = now[0] > before[0] ? 0 : 1;
    if (!has[landed]) {
      has[landed] = true;
      held.push_back(std::move(c));
    } else {
      ASSERT_EQ(c->release(), 0);  // a second one in the same loop: give it back
    }
  }
  ASSERT_TRUE(has[0] && has[1]);
  EXPECT_EQ(allocations(2), (std::array<uint64_t, 2>{1, 1}));
  // Her third is refused in whichever loop it lands: try until both loops have refused one.
  uint64_t refused[2] = {0, 0};
  for (int i = 0; i < 40 && (refused[0] == 0 || refused[1] == 0); ++i) {
    Client c(server_, "alice", "a-pass");
    EXPECT_EQ(c.allocate(), 486);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (size_t l = 0; l < 2; ++l)
      refused[l] = shared_->stats.at(l).relay.dropped(relay::RelayDrop::kQuota);
  }
  EXPECT_GT(refused[0], 0u);
  EXPECT_GT(refused[1], 0u);
  EXPECT_EQ(shared_->quota.held(), 2u);
  // Bob is not affected.
  Client bob(server_, "bob", "b-pass");
  EXPECT_EQ(bob.allocate(), 0);
}

}  // namespace
}  // namespace tern::relayd
