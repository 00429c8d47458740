// A small TURN server for the client's tests, written with the codec as RFC 8656
// describes a server (not a mock of the client): long-term credentials with
// static users or a REST secret, nonces that go stale, allocations, permissions
// and channels with their lifetimes on the server's own clock, Data indications
// and ChannelData towards the client. Tests can make it answer an error, answer
// with a wrong MESSAGE-INTEGRITY, or stay silent.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/ip.hpp"
#include "base/time.hpp"
#include "core/turn_credentials.hpp"
#include "crypto/hmac_sha.hpp"
#include "wire/channel_data.hpp"
#include "wire/stun.hpp"
#include "wire/stun_attributes.hpp"
#include "wire/stun_builder.hpp"
#include "wire/stun_fingerprint.hpp"
#include "wire/stun_integrity.hpp"

namespace tern::test {

using wire::StunAttr;
using wire::StunClass;
using wire::StunMethod;

inline std::vector<uint8_t> to_vector(Bytes b) {
  return std::vector<uint8_t>(b.begin(), b.end());
}

class FakeTurnServer {
 public:
  struct Received {
    Instant at{};
    StunMethod method = StunMethod::kBinding;
    StunClass cls = StunClass::kRequest;
    bool authenticated = false;
    bool sha256 = false;
    std::optional<uint32_t> lifetime;
    std::optional<Endpoint> peer;
    std::optional<uint16_t> channel;
    bool channel_data = false;
    std::vector<uint8_t> data;  // Send indication or ChannelData payload
    size_t size = 0;            // the whole message
  };
  struct Injected {
    StunMethod method;
    uint16_t code;
    std::string reason;
    unsigned times;
  };

  std::string realm = "tern.test";
  std::map<std::string, std::string> users = {{"alice", "correct horse"}};
  std::optional<std::string> secret;  // REST API shared secret
  int64_t unix_at_start = 1'750'000'000;
  Instant start{};
  Endpoint relayed = *Endpoint::parse("203.0.113.10:49152");
  Endpoint mapped = *Endpoint::parse("198.51.100.7:40000");
  uint32_t default_lifetime = 600;
  uint32_t max_lifetime = 3600;
  bool rfc8489 = false;  // nonce cookie + PASSWORD-ALGORITHMS, answered with SHA-256
  bool silent = false;
  std::set<StunMethod> ignore;  // requests of these methods go unanswered
  bool corrupt_integrity = false;
  std::optional<Endpoint> alternate;
  std::vector<Injected> injected;
  std::string nonce = "nonce-1";

  // Server state.
  bool allocated = false;
  Instant allocation_expires{};
  std::string allocation_user;
  std::map<IpAddress, Instant> permissions;
  std::map<uint16_t, std::pair<Endpoint, Instant>> channels;
  std::vector<std::pair<Endpoint, std::vector<uint8_t>>> relayed_to_peers;
  std::vector<Received> log;

  // Makes the current nonce stale: the next authenticated request gets 438.
  void rotate_nonce() {
    nonce = "nonce-" + std::to_string(++nonce_counter_);
    if (rfc8489) nonce = "obMatJos2gAAA" + nonce;
  }
  void set_rfc8489() {
    rfc8489 = true;
    rotate_nonce();
  }
  void inject(StunMethod m, uint16_t code, std::string reason = {}, unsigned times = 1) {
    injected.push_back({m, code, std::move(reason), times});
  }
  size_t count(StunMethod m, StunClass c = StunClass::kRequest) const {
    size_t n = 0;
    for (const auto& r : log)
      n += r.method == m && r.cls == c && !r.channel_data;
    return n;
  }
  std::vector<Instant> times_of(StunMethod m) const {
    std::vector<Instant> out;
    for (const auto& r : log)
      if (r.method == m && r.cls == StunClass::kRequest && !r.channel_data) out.push_back(r.at);
    return out;
  }
  const Received* last(StunMethod m) const {
    for (auto it = log.rbegin(); it != log.rend(); ++it)
      if (it->method == m && !it->channel_data) return &*it;
    return nullptr;
  }

  // One message from the client; returns what the server answers (zero or one).
  std::vector<std::vector<uint8_t>> receive(Bytes message, Instant now) {
    std::vector<std::vector<uint8_t>> out;
    if (wire::is_channel_data(message)) {
      auto cd = wire::parse_channel_data(message);
      Received r;
      r.at = now;
      r.channel_data = true;
      if (cd) {
        r.channel = cd->channel;
        r.data = to_vector(cd->data);
        auto c = channels.find(cd->channel);
        if (allocated && c != channels.end() && c->second.second > now) {
          relayed_to_peers.emplace_back(c->second.first, r.data);
        }
      }
      r.size = message.size();
      log.push_back(r);
      return out;
    }
    auto parsed = wire::StunMessage::parse(message);
    if (!parsed) return out;
    const auto& m = *parsed;
    Received r;
    r.at = now;
    r.method = m.method();
    r.cls = m.message_class();
    r.size = message.size();
    r.authenticated = m.integrity_offset() || m.integrity_sha256_offset();
    r.sha256 = m.integrity_sha256_offset().has_value();
    if (auto a = m.find(StunAttr::kLifetime)) r.lifetime = wire::decode_u32(a->value);
    if (auto a = m.find(StunAttr::kXorPeerAddress)) {
      r.peer = wire::decode_xor_address(a->value, m.transaction_id());
    }
    if (auto a = m.find(StunAttr::kChannelNumber))
      r.channel = wire::decode_channel_number(a->value);
    if (auto a = m.find(StunAttr::kData)) r.data = to_vector(a->value);
    log.push_back(r);
    if (wire::check_fingerprint(m) == wire::StunCheck::kInvalid) return out;

    if (m.is(StunMethod::kSend, StunClass::kIndication)) {
      if (allocated && r.peer) {
        auto p = permissions.find(r.peer->address);
        if (p != permissions.end() && p->second > now)
          relayed_to_peers.emplace_back(*r.peer, r.data);
      }
      return out;
    }
    if (silent || ignore.contains(m.method()) || !m.is_request()) return out;

    // Long-term credentials (RFC 8489 §9.2.4).
    if (!r.authenticated) {
      out.push_back(challenge(m, 401, "Unauthorized"));
      return out;
    }
    auto user = text(m, StunAttr::kUsername);
    auto password = user ? password_of(*user, now) : std::nullopt;
    if (!password || text(m, StunAttr::kRealm) != realm) {
      out.push_back(challenge(m, 401, "Unauthorized"));
      return out;
    }
    key_ = key_for(*user, *password);
    const auto check = r.sha256 ? wire::check_message_integrity_sha256(m, key_)
                                : wire::check_message_integrity(m, key_);
    if (check != wire::StunCheck::kValid) {
      out.push_back(challenge(m, 401, "Unauthorized"));
      return out;
    }
    if (text(m, StunAttr::kNonce) != nonce) {
      out.push_back(challenge(m, 438, "Stale Nonce"));
      return out;
    }

    for (auto& inj : injected) {
      if (inj.times > 0 && inj.method == m.method()) {
        --inj.times;
        out.push_back(error(m, inj.code, inj.reason, true));
        return out;
      }
    }
    switch (m.method()) {
      case StunMethod::kAllocate:
        out.push_back(allocate(m, *user, now));
        break;
      case StunMethod::kRefresh:
        out.push_back(refresh(m, now));
        break;
      case StunMethod::kCreatePermission:
        out.push_back(create_permission(m, r, now));
        break;
      case StunMethod::kChannelBind:
        out.push_back(channel_bind(m, r, now));
        break;
      default:
        out.push_back(error(m, 400, "Bad Request", true));
    }
    return out;
  }

  // Data from `peer` to the relayed address, as the client receives it.
  std::vector<uint8_t> data_from_peer(const Endpoint& peer, Bytes payload, bool as_channel) {
    if (as_channel) {
      for (const auto& [number, c] : channels) {
        if (c.first == peer) {
          std::vector<uint8_t> out(wire::channel_data_size(payload.size(), true));
          const size_t n = wire::write_channel_data(number, payload, false, out);
          out.resize(n);
          return out;
        }
      }
    }
    std::vector<uint8_t> buf(wire::kStunMaxUdpMessage);
    wire::StunBuilder b(buf, StunMethod::kData, StunClass::kIndication, next_id());
    b.add_xor_address(StunAttr::kXorPeerAddress, peer).add_data(payload);
    return to_vector(*b.finish());
  }

  int64_t server_unix(Instant now) const {
    return unix_at_start + std::chrono::duration_cast<std::chrono::seconds>(now - start).count();
  }

 private:
  static std::optional<std::string> text(const wire::StunMessage& m, StunAttr a) {
    auto attr = m.find(a);
    if (!attr) return std::nullopt;
    return std::string(wire::as_text(attr->value));
  }

  std::optional<std::string> password_of(const std::string& user, Instant now) const {
    if (secret) {
      auto expiry = core::rest_username_expiry(user);
      if (!expiry || *expiry < server_unix(now)) return std::nullopt;  // coturn: expired
      auto name = user.substr(user.find(':') + 1);
      return core::rest_credentials(*secret, name, *expiry).password;
    }
    auto it = users.find(user);
    if (it == users.end()) return std::nullopt;
    return it->second;
  }

  std::vector<uint8_t> key_for(const std::string& user, const std::string& password) const {
    if (rfc8489) return to_vector(wire::stun_long_term_key_sha256(user, realm, password));
    return to_vector(wire::stun_long_term_key_md5(user, realm, password));
  }

  wire::TransactionId next_id() {
    wire::TransactionId id{};
    id[0] = static_cast<uint8_t>(++id_counter_);
    id[1] = static_cast<uint8_t>(id_counter_ >> 8);
    return id;
  }

  std::vector<uint8_t> finish(wire::StunBuilder& b, bool sign) {
    if (sign) {
      std::vector<uint8_t> key = key_;
      if (corrupt_integrity) key.push_back(1);
      if (rfc8489) {
        b.add_message_integrity_sha256(key);
      } else {
        b.add_message_integrity(key);
      }
    }
    b.add_fingerprint();
    return to_vector(*b.finish());
  }

  std::vector<uint8_t> challenge(const wire::StunMessage& m, uint16_t code, std::string_view why) {
    std::vector<uint8_t> buf(wire::kStunMaxUdpMessage);
    wire::StunBuilder b(buf, m.method(), StunClass::kError, m.transaction_id());
    b.add_error_code(code, why).add_text(StunAttr::kRealm, realm).add_text(StunAttr::kNonce, nonce);
    if (rfc8489) {
      const wire::PasswordAlgorithm algs[] = {{wire::kPasswordAlgorithmSha256, {}},
                                              {wire::kPasswordAlgorithmMd5, {}}};
      b.add_password_algorithms(algs);
    }
    return finish(b, false);
  }

  std::vector<uint8_t> error(const wire::StunMessage& m, uint16_t code, std::string_view why,
                             bool sign) {
    std::vector<uint8_t> buf(wire::kStunMaxUdpMessage);
    wire::StunBuilder b(buf, m.method(), StunClass::kError, m.transaction_id());
    b.add_error_code(code, why);
    if (code == 438) b.add_text(StunAttr::kRealm, realm).add_text(StunAttr::kNonce, nonce);
    if (code == 300 && alternate) b.add_address(StunAttr::kAlternateServer, *alternate);
    return finish(b, sign);
  }

  std::vector<uint8_t> success(const wire::StunMessage& m, wire::StunBuilder& b) {
    (void)m;
    return finish(b, true);
  }

  uint32_t granted(const wire::StunMessage& m) const {
    auto a = m.find(StunAttr::kLifetime);
    uint32_t asked = a ? *wire::decode_u32(a->value) : default_lifetime;
    return std::min(asked, max_lifetime);
  }

  std::vector<uint8_t> allocate(const wire::StunMessage& m, const std::string& user, Instant now) {
    if (allocated && allocation_expires > now) return error(m, 437, "Allocation Mismatch", true);
    allocated = true;
    allocation_user = user;
    const uint32_t lifetime = granted(m);
    allocation_expires = now + std::chrono::seconds(lifetime);
    permissions.clear();
    channels.clear();
    std::vector<uint8_t> buf(wire::kStunMaxUdpMessage);
    wire::StunBuilder b(buf, m.method(), StunClass::kSuccess, m.transaction_id());
    b.add_xor_address(StunAttr::kXorRelayedAddress, relayed)
        .add_lifetime(lifetime)
        .add_xor_address(StunAttr::kXorMappedAddress, mapped);
    return success(m, b);
  }

  std::vector<uint8_t> refresh(const wire::StunMessage& m, Instant now) {
    if (!allocated || allocation_expires <= now) {
      allocated = false;
      return error(m, 437, "Allocation Mismatch", true);
    }
    const uint32_t lifetime = granted(m);
    if (lifetime == 0) {
      allocated = false;
    } else {
      allocation_expires = now + std::chrono::seconds(lifetime);
    }
    std::vector<uint8_t> buf(wire::kStunMaxUdpMessage);
    wire::StunBuilder b(buf, m.method(), StunClass::kSuccess, m.transaction_id());
    b.add_lifetime(lifetime);
    return success(m, b);
  }

  std::vector<uint8_t> create_permission(const wire::StunMessage& m, const Received& r,
                                         Instant now) {
    if (!allocated || allocation_expires <= now) return error(m, 437, "Allocation Mismatch", true);
    if (!r.peer) return error(m, 400, "Bad Request", true);
    permissions[r.peer->address] = now + std::chrono::seconds(300);
    std::vector<uint8_t> buf(wire::kStunMaxUdpMessage);
    wire::StunBuilder b(buf, m.method(), StunClass::kSuccess, m.transaction_id());
    return success(m, b);
  }

  std::vector<uint8_t> channel_bind(const wire::StunMessage& m, const Received& r, Instant now) {
    if (!allocated || allocation_expires <= now) return error(m, 437, "Allocation Mismatch", true);
    if (!r.peer || !r.channel || !wire::is_valid_channel(*r.channel)) {
      return error(m, 400, "Bad Request", true);
    }
    for (const auto& [number, c] : channels) {
      if (c.second > now && ((number == *r.channel) != (c.first == *r.peer))) {
        return error(m, 400, "Bad Request", true);  // bound otherwise (RFC 8656 §11.2)
      }
    }
    channels[*r.channel] = {*r.peer, now + std::chrono::seconds(600)};
    permissions[r.peer->address] = now + std::chrono::seconds(300);
    std::vector<uint8_t> buf(wire::kStunMaxUdpMessage);
    wire::StunBuilder b(buf, m.method(), StunClass::kSuccess, m.transaction_id());
    return success(m, b);
  }

  unsigned nonce_counter_ = 1;
  unsigned id_counter_ = 0;
  std::vector<uint8_t> key_;
};

}  // namespace tern::test
