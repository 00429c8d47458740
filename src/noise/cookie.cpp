#include "noise/cookie.hpp"

#include <algorithm>

#include "crypto/aead.hpp"
#include "crypto/memory.hpp"
#include "crypto/random.hpp"
#include "noise/constants.hpp"

namespace tern::noise {
namespace {

using wire::kMacSize;

// Size of an initiation or response, or 0 for anything else.
size_t handshake_size(Bytes msg) {
  auto type = wire::classify(msg);
  if (type == wire::MessageType::kInitiation || type == wire::MessageType::kResponse) {
    return msg.size();
  }
  return 0;
}

// mac1 covers msg[0, size - 32); mac2 covers msg[0, size - 16).
size_t mac1_offset(size_t size) {
  return size - 2 * kMacSize;
}
size_t mac2_offset(size_t size) {
  return size - kMacSize;
}

}  // namespace

// ---- CookieChecker ----

CookieChecker::CookieChecker(const LocalIdentity& local) {
  set_local_identity(local);
}

void CookieChecker::set_local_identity(const LocalIdentity& local) {
  mac1_key_ = local.mac1_key;
  cookie_key_ = local.cookie_key;
}

bool CookieChecker::check_mac1(Bytes msg) const {
  const size_t size = handshake_size(msg);
  if (size == 0) return false;
  const size_t off = mac1_offset(size);
  const crypto::Mac expected = crypto::mac(mac1_key_, msg.first(off));
  return crypto::equal_ct(expected, msg.subspan(off, kMacSize));
}

bool CookieChecker::check_mac2(Bytes msg, const Endpoint& source, Instant now) {
  const size_t size = handshake_size(msg);
  if (size == 0) return false;
  crypto::Mac cookie = cookie_for(source, now);
  const size_t off = mac2_offset(size);
  const crypto::Mac expected = crypto::mac(cookie, msg.first(off));
  crypto::secure_wipe(cookie);
  return crypto::equal_ct(expected, msg.subspan(off, kMacSize));
}

MacCheck CookieChecker::check(Bytes msg, const Endpoint& source, bool under_load, Instant now) {
  if (!check_mac1(msg)) return MacCheck::kInvalidMac1;
  if (!under_load || !check_mac2(msg, source, now)) return MacCheck::kValidMacNoCookie;
  return MacCheck::kValidMacWithCookie;
}

bool CookieChecker::create_cookie_reply(Bytes msg, const Endpoint& source, Instant now,
                                        MutableBytes out) {
  const size_t size = handshake_size(msg);
  if (size == 0 || out.size() < wire::kCookieReplySize) return false;
  wire::CookieReply reply;
  reply.receiver_index = *wire::sender_index_of(msg);
  crypto::random_bytes(reply.nonce);
  crypto::Mac cookie = cookie_for(source, now);
  // The triggering message's mac1 as additional data ties the reply to that message.
  const bool sealed =
      crypto::xaead_seal(cookie_key_, reply.nonce, cookie, msg.subspan(mac1_offset(size), kMacSize),
                         reply.encrypted_cookie);
  crypto::secure_wipe(cookie);
  return sealed && wire::serialize(reply, out) == wire::kCookieReplySize;
}

crypto::Mac CookieChecker::cookie_for(const Endpoint& source, Instant now) {
  if (!secret_birth_ || now - *secret_birth_ >= kCookieRefreshTime) {
    crypto::random_bytes(secret_);
    secret_birth_ = now;
  }
  std::array<uint8_t, 16 + 2> input{};
  const size_t n = source.address.size();
  std::copy_n(source.address.data(), n, input.begin());
  input[n] = static_cast<uint8_t>(source.port >> 8);
  input[n + 1] = static_cast<uint8_t>(source.port);
  return crypto::mac(secret_, Bytes(input.data(), n + 2));
}

// ---- MacGenerator ----

MacGenerator::MacGenerator(const crypto::Key& remote_static)
    : mac1_key_(label_key(kLabelMac1, remote_static)),
      cookie_key_(label_key(kLabelCookie, remote_static)) {}

bool MacGenerator::add_macs(MutableBytes msg, Instant now) {
  const size_t size = handshake_size(msg);
  if (size == 0) return false;
  const size_t off1 = mac1_offset(size);
  last_mac1_ = crypto::mac(mac1_key_, Bytes(msg.first(off1)));
  have_sent_mac1_ = true;
  std::copy(last_mac1_.begin(), last_mac1_.end(), msg.begin() + static_cast<ptrdiff_t>(off1));

  const size_t off2 = mac2_offset(size);
  crypto::Mac mac2{};
  if (has_fresh_cookie(now)) mac2 = crypto::mac(cookie_, Bytes(msg.first(off2)));
  std::copy(mac2.begin(), mac2.end(), msg.begin() + static_cast<ptrdiff_t>(off2));
  return true;
}

bool MacGenerator::consume_cookie_reply(const wire::CookieReply& reply, Instant now) {
  if (!have_sent_mac1_) return false;
  crypto::Mac cookie;
  if (!crypto::xaead_open(cookie_key_, reply.nonce, reply.encrypted_cookie, last_mac1_, cookie)) {
    return false;
  }
  cookie_ = cookie;
  crypto::secure_wipe(cookie);
  cookie_birth_ = now;
  have_sent_mac1_ = false;
  return true;
}

bool MacGenerator::has_fresh_cookie(Instant now) const {
  return cookie_birth_ && now - *cookie_birth_ < kCookieRefreshTime;
}

}  // namespace tern::noise
