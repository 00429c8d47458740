// Test harness for the relay core: a fake clock, a fake port allocator in
// place of the I/O layer, and a small TURN client written here with the codec
// (independent of the server's code) that signs requests with long-term
// credentials and learns the nonce from 401/438 answers.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/random.hpp"
#include "relay/server.hpp"
#include "wire/channel_data.hpp"
#include "wire/stun.hpp"
#include "wire/stun_attributes.hpp"
#include "wire/stun_builder.hpp"
#include "wire/stun_fingerprint.hpp"
#include "wire/stun_integrity.hpp"

namespace tern::relay::test {

using wire::StunAttr;
using wire::StunBuilder;
using wire::StunClass;
using wire::StunMessage;
using wire::StunMethod;

inline constexpr Instant kT0 = instant_from_ns(1'000'000'000'000);
inline constexpr std::string_view kRealm = "example.org";
inline constexpr std::string_view kSecret = "rest-secret";
// 2025-01-01 00:00:00 UTC, the wall clock at kT0.
inline constexpr int64_t kUnixT0 = 1735689600;

inline Instant at(double seconds) {
  return kT0 + Duration(static_cast<int64_t>(seconds * 1e9));
}

inline Endpoint ep(std::string_view text) {
  auto e = Endpoint::parse(text);
  if (!e) throw std::invalid_argument(std::string(text));
  return *e;
}
inline IpAddress ip(std::string_view text) {
  auto a = IpAddress::parse(text);
  if (!a) throw std::invalid_argument(std::string(text));
  return *a;
}

inline const Endpoint kListener = ep("192.0.2.1:3478");

// Hands out 198.51.100.1:50000, :50001, ... (and [2001:db8::1]:... for IPv6),
// skipping an odd port for an even_port request, until `capacity` sockets are open.
class FakePorts : public RelayPortAllocator {
 public:
  std::optional<Endpoint> open(const RelaySocketRequest& r) override {
    requests.push_back(r);
    usernames.emplace_back(r.username);  // the view lasts only for the call
    requests.back().username = {};
    if (open_ports.size() >= capacity) return std::nullopt;
    if (r.even_port && next_port % 2 != 0 && !odd_for_even) ++next_port;
    const uint16_t port = next_port++;
    const Endpoint e{r.family == IpAddress::Family::kV4 ? ip("198.51.100.1") : ip("2001:db8::1"),
                     port};
    open_ports[r.id] = e;
    return e;
  }
  void close(AllocationId id, const Endpoint& relayed) override {
    closed.push_back(relayed);
    EXPECT_EQ(open_ports.count(id), 1u) << "closed a socket that was not open";
    if (open_ports.count(id)) {
      EXPECT_EQ(open_ports[id], relayed);
    }
    open_ports.erase(id);
  }

  size_t capacity = 1000;
  bool odd_for_even = false;  // a broken I/O layer: ignores even_port
  uint16_t next_port = 50000;
  std::map<AllocationId, Endpoint> open_ports;
  std::vector<Endpoint> closed;
  std::vector<RelaySocketRequest> requests;
  std::vector<std::string> usernames;
};

inline RelayConfig test_config() {
  RelayConfig c;
  c.realm = std::string(kRealm);
  c.users = {{"alice", "alice-pass"}, {"bob", "bob-pass"}};
  c.shared_secrets = {std::string(kSecret)};
  return c;
}

inline std::array<uint8_t, kNonceKeySize> test_nonce_key() {
  std::array<uint8_t, kNonceKeySize> k{};
  for (size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<uint8_t>(i * 7 + 1);
  return k;
}

// What the server sent, copied out of its buffer.
struct Sent {
  Transmit::Source source = Transmit::Source::kListener;
  Transport transport = Transport::kUdp;
  Endpoint from;
  Endpoint to;
  std::vector<uint8_t> data;

  static Sent of(const Transmit& t) {
    return {t.source, t.transport, t.from, t.to,
            std::vector<uint8_t>(t.data.begin(), t.data.end())};
  }
  bool is_stun() const { return StunMessage::parse(data).has_value(); }
  StunMessage msg() const {
    auto m = StunMessage::parse(data);
    if (!m) throw std::runtime_error("not a STUN message");
    return *m;
  }
  bool is_success() const { return is_stun() && msg().is_success(); }
  // The error code, 0 for a success.
  uint16_t code() const {
    auto m = msg();
    if (auto a = m.find(StunAttr::kErrorCode)) return wire::decode_error_code(a->value)->code;
    return 0;
  }
  std::string reason() const {
    auto m = msg();
    if (auto a = m.find(StunAttr::kErrorCode))
      return std::string(wire::decode_error_code(a->value)->reason);
    return {};
  }
  std::optional<Endpoint> xor_address(StunAttr type) const {
    auto m = msg();
    auto a = m.find(type);
    if (!a) return std::nullopt;
    return wire::decode_xor_address(a->value, m.transaction_id());
  }
  std::optional<Endpoint> address(StunAttr type) const {
    auto m = msg();
    auto a = m.find(type);
    if (!a) return std::nullopt;
    return wire::decode_address(a->value);
  }
  std::optional<uint32_t> u32(StunAttr type) const {
    auto m = msg();
    auto a = m.find(type);
    if (!a) return std::nullopt;
    return wire::decode_u32(a->value);
  }
  std::optional<std::string> text(StunAttr type) const {
    auto m = msg();
    auto a = m.find(type);
    if (!a) return std::nullopt;
    return std::string(wire::as_text(a->value));
  }
};

inline std::optional<Sent> copy(const std::optional<Transmit>& t) {
  if (!t) return std::nullopt;
  return Sent::of(*t);
}

using AddAttributes = std::function<void(StunBuilder&)>;

class TestClient {
 public:
  TestClient(RelayServer& server, FiveTuple tuple, std::string user, std::string password)
      : server_(server), tuple_(tuple), user_(std::move(user)), password_(std::move(password)) {}

  const FiveTuple& tuple() const { return tuple_; }
  std::optional<std::string>& nonce() { return nonce_; }
  std::string& realm() { return realm_; }
  std::string& password() { return password_; }
  bool& fingerprint() { return fingerprint_; }
  bool& sha256() { return sha256_; }

  wire::TransactionId new_id() {
    wire::TransactionId id{};
    crypto::random_bytes(id);
    return id;
  }

  // A request (or indication) with the attributes `add` writes and, when `sign`
  // and a nonce is known, USERNAME, REALM, NONCE and MESSAGE-INTEGRITY.
  std::vector<uint8_t> build(StunMethod method, const AddAttributes& add, bool sign = true,
                             StunClass cls = StunClass::kRequest,
                             std::optional<wire::TransactionId> id = std::nullopt) {
    std::vector<uint8_t> buf(2048);
    const auto tid = id ? *id : new_id();
    last_id_ = tid;
    StunBuilder b(buf, method, cls, tid);
    if (add) add(b);
    if (sign && nonce_) {
      b.add_text(StunAttr::kUsername, user_);
      b.add_text(StunAttr::kRealm, realm_);
      b.add_text(StunAttr::kNonce, *nonce_);
      const auto key = wire::stun_long_term_key_md5(user_, realm_, password_);
      if (sha256_) {
        b.add_message_integrity_sha256(key);
      } else {
        b.add_message_integrity(key);
      }
    }
    if (fingerprint_) b.add_fingerprint();
    EXPECT_TRUE(b.ok());
    buf.resize(b.size());
    return buf;
  }

  // Hands bytes to the server; learns REALM and NONCE from a 401 or 438.
  std::optional<Sent> send(const std::vector<uint8_t>& bytes, Instant now) {
    auto out = copy(server_.handle_client(tuple_, bytes, now));
    if (out && out->is_stun()) {
      const auto m = out->msg();
      const auto code = out->code();
      if ((code == 401 || code == 438) && m.find(StunAttr::kNonce)) {
        nonce_ = out->text(StunAttr::kNonce);
        realm_ = *out->text(StunAttr::kRealm);
      }
    }
    return out;
  }

  // One request, answering a 401/438 challenge once, as a client does.
  std::optional<Sent> request(StunMethod method, const AddAttributes& add, Instant now) {
    const bool signed_request = nonce_.has_value();
    auto out = send(build(method, add), now);
    if (out && out->is_stun() && ((out->code() == 401 && !signed_request) || out->code() == 438)) {
      out = send(build(method, add), now);
    }
    return out;
  }

  // Checks the server's MESSAGE-INTEGRITY on a response.
  wire::StunCheck check(const Sent& s) const {
    const auto key = wire::stun_long_term_key_md5(user_, realm_, password_);
    const auto m = s.msg();
    if (m.integrity_sha256_offset()) return wire::check_message_integrity_sha256(m, key);
    return wire::check_message_integrity(m, key);
  }

  // Allocates (after the challenge) and returns the relayed address.
  Endpoint allocate(Instant now, const AddAttributes& extra = {}) {
    auto out = request(
        StunMethod::kAllocate,
        [&](StunBuilder& b) {
          b.add_requested_transport();
          if (extra) extra(b);
        },
        now);
    EXPECT_TRUE(out && out->is_success()) << (out ? out->reason() : "no answer");
    if (!out || !out->is_success()) return {};
    return *out->xor_address(StunAttr::kXorRelayedAddress);
  }

  std::optional<Sent> create_permission(const std::vector<Endpoint>& peers, Instant now) {
    return request(
        StunMethod::kCreatePermission,
        [&](StunBuilder& b) {
          for (const auto& p : peers)
            b.add_xor_address(StunAttr::kXorPeerAddress, p);
        },
        now);
  }

  std::optional<Sent> channel_bind(uint16_t channel, const Endpoint& peer, Instant now) {
    return request(
        StunMethod::kChannelBind,
        [&](StunBuilder& b) {
          b.add_channel_number(channel);
          b.add_xor_address(StunAttr::kXorPeerAddress, peer);
        },
        now);
  }

  std::optional<Sent> refresh(std::optional<uint32_t> lifetime, Instant now) {
    return request(
        StunMethod::kRefresh,
        [&](StunBuilder& b) {
          if (lifetime) b.add_lifetime(*lifetime);
        },
        now);
  }

  std::optional<Sent> send_indication(const Endpoint& peer, const std::vector<uint8_t>& data,
                                      Instant now) {
    return send(build(
                    StunMethod::kSend,
                    [&](StunBuilder& b) {
                      b.add_xor_address(StunAttr::kXorPeerAddress, peer);
                      b.add_data(data);
                    },
                    false, StunClass::kIndication),
                now);
  }

  std::optional<Sent> channel_data(uint16_t channel, const std::vector<uint8_t>& data,
                                   Instant now) {
    std::vector<uint8_t> buf(wire::channel_data_size(data.size(), false));
    EXPECT_GT(wire::write_channel_data(channel, data, false, buf), 0u);
    return send(buf, now);
  }

 private:
  RelayServer& server_;
  FiveTuple tuple_;
  std::string user_;
  std::string password_;
  std::string realm_ = std::string(kRealm);
  std::optional<std::string> nonce_;
  bool fingerprint_ = true;
  bool sha256_ = false;
  wire::TransactionId last_id_{};
};

// A datagram from a peer to a relayed address, laid out as handle_peer() wants it.
struct PeerDatagram {
  std::vector<uint8_t> buffer;
  size_t length = 0;

  explicit PeerDatagram(const std::vector<uint8_t>& payload)
      : buffer(kPeerHeadroom + payload.size() + kPeerTailroom, 0xEE), length(payload.size()) {
    std::copy(payload.begin(), payload.end(), buffer.begin() + kPeerHeadroom);
  }
};

inline std::optional<Sent> from_peer(RelayServer& s, const Endpoint& relayed, const Endpoint& peer,
                                     const std::vector<uint8_t>& payload, Instant now) {
  PeerDatagram d(payload);
  return copy(s.handle_peer(relayed, peer, d.buffer, d.length, now));
}

inline std::vector<uint8_t> bytes_of(std::string_view s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

// A server with test_config() (or another), fake ports and a fixed nonce key.
struct Fixture {
  explicit Fixture(RelayConfig config = test_config()) {
    auto made = RelayServer::create(std::move(config), ports, test_nonce_key());
    if (!made) throw std::runtime_error(made.error().message);
    server = std::move(*made);
    server->set_wall_clock(WallTime{kUnixT0 * 1'000'000'000}, kT0);
  }

  FiveTuple tuple(std::string_view client, Transport transport = Transport::kUdp) const {
    return FiveTuple{ep(client), kListener, transport};
  }
  TestClient client(std::string_view address = "203.0.113.10:40000", std::string user = "alice",
                    std::string password = "alice-pass", Transport transport = Transport::kUdp) {
    return TestClient(*server, tuple(address, transport), std::move(user), std::move(password));
  }
  uint64_t drops(RelayDrop d) const { return server->counters().dropped(d); }

  FakePorts ports;
  std::unique_ptr<RelayServer> server;
};

}  // namespace tern::relay::test
