// Fuzzes the TURN server core with a script of events read from the input:
// arbitrary messages from a few client 5-tuples (UDP, TCP, IPv6), optionally
// re-signed with valid long-term or REST credentials and a fresh nonce so that
// the fuzzer gets past authentication; arbitrary datagrams from peers to the
// relayed addresses; time passing; TCP connections closing. After every event:
// state stays bounded (allocations, permissions, channels under their caps, one
// open relay socket per allocation), nothing is ever sent to a peer the policy
// refuses, and every answer goes to the client it belongs to (another port of its
// IP only when a Binding asked for it with RESPONSE-PORT). At the end every
// relay socket is closed.
//
// Script records: op(1) then, by op % 4,
//   0: client message: client(1) length(2) bytes; op & 0x10 re-signs a request
//   1: peer datagram: relay(1) peer(1) length(2) bytes
//   2: time passes: seconds / 8 (1)
//   3: the TCP client's connection closes
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "relay/auth.hpp"
#include "relay/peer_policy.hpp"
#include "relay/server.hpp"
#include "wire/stun.hpp"
#include "wire/stun_builder.hpp"
#include "wire/stun_integrity.hpp"

using namespace tern;
using namespace tern::relay;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

constexpr int64_t kUnixT0 = 1735689600;
const Endpoint kListener = *Endpoint::parse("192.0.2.1:3478");

class Ports : public RelayPortAllocator {
 public:
  std::optional<Endpoint> open(const RelaySocketRequest& r) override {
    if (++opens_ % 5 == 0) return std::nullopt;  // now and then the I/O layer has no port
    const Endpoint e{r.family == IpAddress::Family::kV4 ? *IpAddress::parse("198.51.100.1")
                                                        : *IpAddress::parse("2001:db8::1"),
                     next_port_++};
    open_[r.id] = e;
    return e;
  }
  void close(AllocationId id, const Endpoint& relayed) override {
    auto it = open_.find(id);
    require(it != open_.end() && it->second == relayed);
    open_.erase(it);
  }
  const std::map<AllocationId, Endpoint>& open_sockets() const { return open_; }

 private:
  std::map<AllocationId, Endpoint> open_;
  uint16_t next_port_ = 50000;
  unsigned opens_ = 0;
};

RelayConfig fuzz_config() {
  RelayConfig c;
  c.realm = "example.org";
  c.users = {{"alice", "alice-pass"}};
  c.shared_secrets = {"rest-secret"};
  c.max_allocations = 3;
  c.user_quota = 2;
  c.max_permissions = 4;
  c.max_channels = 4;
  c.rate_limit.packets_per_second = 50;
  c.discovery = BehaviorDiscovery{kListener, *Endpoint::parse("192.0.2.2:3479")};
  return c;
}

std::array<uint8_t, kNonceKeySize> fuzz_key() {
  std::array<uint8_t, kNonceKeySize> k{};
  k.fill(0x42);
  return k;
}

struct Client {
  FiveTuple tuple;
  std::string user;
  std::string password;
};

std::vector<Client> clients() {
  const std::string rest_user = std::to_string(kUnixT0 + 3000) + ":peer";
  return {
      {{*Endpoint::parse("203.0.113.10:40000"), kListener, Transport::kUdp}, "alice", "alice-pass"},
      {{*Endpoint::parse("203.0.113.11:40000"), kListener, Transport::kUdp},
       rest_user,
       rest_password("rest-secret", rest_user)},
      {{*Endpoint::parse("203.0.113.10:40001"), kListener, Transport::kTcp}, "alice", "alice-pass"},
      {{*Endpoint::parse("[2001:db8:9::1]:40000"), *Endpoint::parse("[2001:db8::1]:3478"),
        Transport::kUdp},
       "alice",
       "alice-pass"},
  };
}

const char* const kPeers[] = {"192.0.2.200:7000",    "192.0.2.200:7001", "198.51.100.1:50000",
                              "10.0.0.1:53",         "127.0.0.1:22",     "[2001:db8::5]:9",
                              "[::ffff:10.0.0.1]:1", "[fe80::1]:1"};

// The request re-signed: its attributes but the credentials, then USERNAME,
// REALM, a fresh NONCE, MESSAGE-INTEGRITY and FINGERPRINT.
std::optional<std::vector<uint8_t>> resign(const std::vector<uint8_t>& in, const Client& c,
                                           const Authenticator& auth, Instant now) {
  auto m = wire::StunMessage::parse(in);
  if (!m || !m->is_request()) return std::nullopt;
  std::vector<uint8_t> out(in.size() + 256);
  wire::StunBuilder b(out, m->type(), m->transaction_id());
  for (const auto& a : *m) {
    using wire::StunAttr;
    if (a.is(StunAttr::kUsername) || a.is(StunAttr::kRealm) || a.is(StunAttr::kNonce) ||
        a.is(StunAttr::kMessageIntegrity) || a.is(StunAttr::kMessageIntegritySha256) ||
        a.is(StunAttr::kFingerprint)) {
      continue;
    }
    b.add(a.type, a.value);
  }
  b.add_text(wire::StunAttr::kUsername, c.user);
  b.add_text(wire::StunAttr::kRealm, auth.realm());
  b.add_text(wire::StunAttr::kNonce, auth.make_nonce(c.tuple.client.address, now).view());
  b.add_message_integrity(wire::stun_long_term_key_md5(c.user, auth.realm(), c.password));
  b.add_fingerprint();
  if (!b.ok()) return std::nullopt;
  out.resize(b.size());
  return out;
}

bool asks_response_port(const std::vector<uint8_t>& request) {
  auto m = wire::StunMessage::parse(request);
  return m && m->find(wire::StunAttr::kResponsePort).has_value();
}

struct Reader {
  const uint8_t* p;
  size_t n;
  bool empty() const { return n == 0; }
  uint8_t u8() {
    if (!n) return 0;
    --n;
    return *p++;
  }
  std::vector<uint8_t> bytes() {
    size_t len = u8();
    len = (len << 8) | u8();
    len = std::min(len, n);
    std::vector<uint8_t> out(p, p + len);
    p += len;
    n -= len;
    return out;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const RelayConfig config = fuzz_config();
  static const Authenticator auth(config, fuzz_key());
  static const PeerPolicy policy(config.allowed_peers, config.denied_peers);
  static const std::vector<Client> cs = clients();

  Ports ports;
  {
    auto made = RelayServer::create(config, ports, fuzz_key());
    require(made.has_value());
    RelayServer& server = **made;
    Instant now = instant_from_ns(1'000'000'000'000);
    server.set_wall_clock(WallTime{kUnixT0 * 1'000'000'000}, now);

    Reader in{data, size};
    for (int events = 0; !in.empty() && events < 256; ++events) {
      const uint8_t op = in.u8();
      switch (op % 4) {
        case 0: {
          const Client& c = cs[in.u8() % cs.size()];
          auto message = in.bytes();
          if (op & 0x10) {
            if (auto signed_message = resign(message, c, auth, now)) message = *signed_message;
          }
          if (auto t = server.handle_client(c.tuple, message, now)) {
            if (t->source == Transmit::Source::kRelay) {
              require(!policy.refusal(t->to.address));
              require(t->data.data() >= message.data() &&
                      t->data.data() + t->data.size() <= message.data() + message.size());
            } else {
              // Same IP and transport; the port too, unless a Binding over UDP asked for
              // another port of its own IP with RESPONSE-PORT (RFC 5780 §7.5).
              require(t->to.address == c.tuple.client.address && t->transport == c.tuple.transport);
              require(t->to.port == c.tuple.client.port ||
                      (c.tuple.transport == Transport::kUdp && asks_response_port(message)));
              require(wire::StunMessage::parse(t->data).has_value());
            }
          }
          break;
        }
        case 1: {
          const uint8_t which = in.u8();
          Endpoint relayed{*IpAddress::parse("198.51.100.1"),
                           static_cast<uint16_t>(50000 + which % 8)};
          const auto& open = ports.open_sockets();
          if (!open.empty() && (which & 0x80)) {
            auto it = open.begin();
            std::advance(it, static_cast<long>(which % open.size()));
            relayed = it->second;
          }
          const Endpoint peer = *Endpoint::parse(kPeers[in.u8() % std::size(kPeers)]);
          const auto payload = in.bytes();
          std::vector<uint8_t> buffer(kPeerHeadroom + payload.size() + kPeerTailroom);
          std::copy(payload.begin(), payload.end(), buffer.begin() + kPeerHeadroom);
          if (auto t = server.handle_peer(relayed, peer, buffer, payload.size(), now)) {
            require(t->source == Transmit::Source::kListener);
            require(t->data.data() >= buffer.data() &&
                    t->data.data() + t->data.size() <= buffer.data() + buffer.size());
            require(!policy.refusal(peer.address));
          }
          break;
        }
        case 2:
          now += std::chrono::seconds(8 * int64_t{in.u8()});
          if (auto next = server.poll_timeout(); next && *next <= now) server.handle_timeout(now);
          break;
        case 3:
          server.connection_closed(cs[2].tuple);
          break;
      }
      // Bounded state, and the I/O layer's sockets match the allocations.
      require(server.allocation_count() <= config.max_allocations);
      require(ports.open_sockets().size() == server.allocation_count());
      require(server.counters().allocations_current == server.allocation_count());
      for (const auto& c : cs) {
        if (auto info = server.allocation(c.tuple, now)) {
          require(info->permissions <= config.max_permissions);
          require(info->channels <= config.max_channels);
        }
      }
    }
    require(server.metrics_text().find("tern_relay_allocations ") != std::string::npos);
  }
  require(ports.open_sockets().empty());
  return 0;
}
