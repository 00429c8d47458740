// Long-term credentials as timelines: the 401 challenge, static users, TURN
// REST credentials (valid, expired, rotated secrets), nonce expiry (438) and
// nonces carried to another address; and the pieces (nonces, REST usernames).
#include "relay/auth.hpp"

#include "relay_test_util.hpp"

namespace tern::relay::test {
namespace {

TEST(RestCredentials, PasswordIsBase64OfHmacSha1) {
  // Computed independently (Python's hmac and base64 modules).
  EXPECT_EQ(rest_password("rest-secret", "1735693200:peer-a"), "o2lif5fqoCtPlk1zLVWZW05jvD0=");
  EXPECT_EQ(rest_password("north", "1433895918:user"), "/gk4t5tUc08OpM3NjrVjHSFVNmY=");
}

TEST(RestCredentials, UsernameForms) {
  auto r = parse_rest_username("1735693200:peer-a");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->expiry_unix, 1735693200);
  EXPECT_EQ(r->name, "peer-a");
  r = parse_rest_username("1735693200");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "1735693200");
  r = parse_rest_username("1735693200:");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "1735693200:");
  EXPECT_FALSE(parse_rest_username("alice"));
  EXPECT_FALSE(parse_rest_username("peer:1735693200"));
  EXPECT_FALSE(parse_rest_username(":x"));
  EXPECT_FALSE(parse_rest_username("-5:x"));
  EXPECT_FALSE(parse_rest_username("99999999999999999999999:x"));
}

TEST(Nonce, ValidForItsLifetimeFromItsClientOnly) {
  const auto config = test_config();
  Authenticator auth(config, test_nonce_key());
  const auto client = ip("203.0.113.10");
  const auto n = auth.make_nonce(client, at(0));
  EXPECT_EQ(n.view().size(), kNonceSize);
  EXPECT_TRUE(auth.nonce_valid(n.view(), client, at(0)));
  EXPECT_TRUE(auth.nonce_valid(n.view(), client, at(599)));
  EXPECT_FALSE(auth.nonce_valid(n.view(), client, at(600)));
  EXPECT_FALSE(auth.nonce_valid(n.view(), ip("203.0.113.11"), at(1)));
  // Not valid before it was issued (a nonce from the future is forged or from another run).
  EXPECT_FALSE(auth.nonce_valid(n.view(), client, at(-5)));
  // Any change to it breaks the MAC.
  std::string bent(n.view());
  bent[10] = bent[10] == '0' ? '1' : '0';
  EXPECT_FALSE(auth.nonce_valid(bent, client, at(1)));
  EXPECT_FALSE(auth.nonce_valid("", client, at(1)));
  EXPECT_FALSE(auth.nonce_valid(std::string(kNonceSize, 'z'), client, at(1)));
  // Another server's key does not accept it.
  auto other_key = test_nonce_key();
  other_key[0] ^= 1;
  Authenticator other(config, other_key);
  EXPECT_FALSE(other.nonce_valid(n.view(), client, at(1)));
}

TEST(ServerAuth, UnauthenticatedAllocateIsChallengedThenSucceeds) {
  Fixture f;
  auto c = f.client();
  auto first = c.send(
      c.build(StunMethod::kAllocate, [](StunBuilder& b) { b.add_requested_transport(); }), at(0));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->code(), 401);
  EXPECT_EQ(first->text(StunAttr::kRealm), std::string(kRealm));
  ASSERT_TRUE(first->text(StunAttr::kNonce));
  // A challenge is not signed: the client has not proved anything yet.
  EXPECT_FALSE(first->msg().integrity_offset());
  EXPECT_EQ(f.server->counters().challenges, 1u);
  EXPECT_EQ(f.server->allocation_count(), 0u);

  auto second =
      c.send(c.build(StunMethod::kAllocate, [](StunBuilder& b) { b.add_requested_transport(); }),
             at(0.05));
  ASSERT_TRUE(second);
  ASSERT_TRUE(second->is_success()) << second->reason();
  EXPECT_EQ(second->xor_address(StunAttr::kXorRelayedAddress), ep("198.51.100.1:50000"));
  EXPECT_EQ(second->xor_address(StunAttr::kXorMappedAddress), ep("203.0.113.10:40000"));
  EXPECT_EQ(second->u32(StunAttr::kLifetime), 600u);
  EXPECT_EQ(c.check(*second), wire::StunCheck::kValid);
  EXPECT_EQ(wire::check_fingerprint(second->msg()), wire::StunCheck::kValid);
  EXPECT_EQ(second->to, ep("203.0.113.10:40000"));
  EXPECT_EQ(second->from, kListener);
  EXPECT_EQ(f.server->allocation_count(), 1u);
  EXPECT_EQ(f.ports.usernames.at(0), "alice");
  EXPECT_EQ(f.server->counters().drops, decltype(f.server->counters().drops){});
}

TEST(ServerAuth, Sha256IntegrityIsAcceptedAndAnsweredInKind) {
  Fixture f;
  auto c = f.client();
  c.sha256() = true;
  auto out = c.request(
      StunMethod::kAllocate, [](StunBuilder& b) { b.add_requested_transport(); }, at(0));
  ASSERT_TRUE(out && out->is_success());
  EXPECT_TRUE(out->msg().integrity_sha256_offset());
  EXPECT_EQ(c.check(*out), wire::StunCheck::kValid);
}

TEST(ServerAuth, WrongPasswordUnknownUserAndWrongRealmAre401) {
  Fixture f;
  auto c = f.client("203.0.113.10:40000", "alice", "not-her-password");
  auto out = c.request(
      StunMethod::kAllocate, [](StunBuilder& b) { b.add_requested_transport(); }, at(0));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code(), 401);
  EXPECT_TRUE(out->text(StunAttr::kNonce));
  EXPECT_FALSE(out->msg().integrity_offset());
  EXPECT_EQ(f.drops(RelayDrop::kAuthFailed), 1u);

  auto mallory = f.client("203.0.113.11:40000", "mallory", "x");
  EXPECT_EQ(
      mallory
          .request(
              StunMethod::kAllocate, [](StunBuilder& b) { b.add_requested_transport(); }, at(1))
          ->code(),
      401);
  EXPECT_EQ(f.drops(RelayDrop::kAuthFailed), 2u);

  auto wrong_realm = f.client("203.0.113.12:40000");
  (void)wrong_realm.send(wrong_realm.build(StunMethod::kAllocate, {}), at(2));  // learn a nonce
  wrong_realm.realm() = "other.example";
  EXPECT_EQ(wrong_realm
                .send(wrong_realm.build(StunMethod::kAllocate,
                                        [](StunBuilder& b) { b.add_requested_transport(); }),
                      at(2))
                ->code(),
            401);
  EXPECT_EQ(f.drops(RelayDrop::kAuthFailed), 3u);
  EXPECT_EQ(f.server->allocation_count(), 0u);
  EXPECT_TRUE(f.ports.requests.empty());
}

TEST(ServerAuth, IntegrityWithoutNonceIs400) {
  Fixture f;
  auto c = f.client();
  std::vector<uint8_t> buf(512);
  StunBuilder b(buf, StunMethod::kAllocate, StunClass::kRequest, c.new_id());
  b.add_requested_transport().add_text(StunAttr::kUsername, "alice");
  b.add_message_integrity(wire::stun_long_term_key_md5("alice", kRealm, "alice-pass"));
  buf.resize(b.size());
  auto out = c.send(buf, at(0));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code(), 400);
  EXPECT_EQ(f.drops(RelayDrop::kMalformed), 1u);
}

TEST(ServerAuth, RestCredentialsValidAndExpired) {
  Fixture f;
  // Valid for another hour from the server's wall clock.
  const std::string user = std::to_string(kUnixT0 + 3600) + ":peer-a";
  auto c = f.client("203.0.113.10:40000", user, rest_password(kSecret, user));
  EXPECT_EQ(c.allocate(at(0)), ep("198.51.100.1:50000"));

  // The same username at a later wall time: refused with a reason that says so.
  std::optional<Sent> out;
  out = c.refresh(600, at(3601));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code(), 401);
  EXPECT_NE(out->reason().find("expired"), std::string::npos) << out->reason();
  EXPECT_EQ(f.drops(RelayDrop::kCredentialsExpired), 1u);

  // Credentials already expired never allocate.
  const std::string old = std::to_string(kUnixT0 - 1) + ":peer-b";
  auto late = f.client("203.0.113.11:40000", old, rest_password(kSecret, old));
  out = late.request(
      StunMethod::kAllocate, [](StunBuilder& b) { b.add_requested_transport(); }, at(1));
  EXPECT_EQ(out->code(), 401);
  EXPECT_EQ(f.drops(RelayDrop::kCredentialsExpired), 2u);

  // A REST username with the wrong password is a plain failure, not "expired".
  auto forged = f.client("203.0.113.12:40000", old, "AAAA");
  out = forged.request(
      StunMethod::kAllocate, [](StunBuilder& b) { b.add_requested_transport(); }, at(1));
  EXPECT_EQ(out->code(), 401);
  EXPECT_EQ(out->reason(), "Unauthorized");
  EXPECT_EQ(f.drops(RelayDrop::kAuthFailed), 1u);
}

TEST(ServerAuth, RestCredentialsFromARotatedSecret) {
  auto config = test_config();
  config.shared_secrets = {"new-secret", "old-secret"};
  Fixture f(config);
  const std::string user = std::to_string(kUnixT0 + 60) + ":peer-a";
  auto with_old = f.client("203.0.113.10:40000", user, rest_password("old-secret", user));
  EXPECT_EQ(with_old.allocate(at(0)).port, 50000);
  auto with_new = f.client("203.0.113.11:40000", user, rest_password("new-secret", user));
  EXPECT_EQ(with_new.allocate(at(0)).port, 50001);
  auto with_other = f.client("203.0.113.12:40000", user, rest_password("rest-secret", user));
  EXPECT_EQ(
      with_other
          .request(
              StunMethod::kAllocate, [](StunBuilder& b) { b.add_requested_transport(); }, at(0))
          ->code(),
      401);
}

TEST(ServerAuth, RestIsOffWithoutASecret) {
  auto config = test_config();
  config.shared_secrets.clear();
  Fixture f(config);
  const std::string user = std::to_string(kUnixT0 + 60) + ":peer-a";
  auto c = f.client("203.0.113.10:40000", user, rest_password(kSecret, user));
  EXPECT_EQ(c.request(
                 StunMethod::kAllocate, [](StunBuilder& b) { b.add_requested_transport(); }, at(0))
                ->code(),
            401);
}

TEST(ServerAuth, StaleNonceIs438WithAFreshOne) {
  Fixture f;
  auto c = f.client();
  c.allocate(at(0));
  const auto first_nonce = *c.nonce();
  // Still fine just before the nonce lifetime ends.
  auto out = c.send(c.build(StunMethod::kRefresh, {}), at(599));
  ASSERT_TRUE(out && out->is_success());
  // After it: 438 with a new nonce, and the retry with it works.
  out = c.send(c.build(StunMethod::kRefresh, {}), at(601));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code(), 438);
  EXPECT_EQ(out->text(StunAttr::kRealm), std::string(kRealm));
  EXPECT_NE(*c.nonce(), first_nonce);
  EXPECT_EQ(f.drops(RelayDrop::kStaleNonce), 1u);
  out = c.send(c.build(StunMethod::kRefresh, {}), at(601.1));
  ASSERT_TRUE(out && out->is_success());

  // A stale nonce with a wrong password is a 401: only the owner of the key learns of staleness.
  c.password() = "guess";
  out = c.send(c.build(StunMethod::kRefresh, {}), at(1300));
  EXPECT_EQ(out->code(), 401);
}

TEST(ServerAuth, NonceFromAnotherAddressIsStale) {
  Fixture f;
  auto a = f.client("203.0.113.10:40000");
  a.allocate(at(0));
  auto b = f.client("203.0.113.99:40000");
  b.nonce() = a.nonce();
  auto out = b.send(
      b.build(StunMethod::kAllocate, [](StunBuilder& x) { x.add_requested_transport(); }), at(1));
  EXPECT_EQ(out->code(), 438);
}

TEST(ServerAuth, EveryTurnMethodNeedsCredentials) {
  Fixture f;
  auto c = f.client();
  c.allocate(at(0));
  auto anonymous = f.client();  // same 5-tuple, but it signs nothing
  for (auto method : {StunMethod::kRefresh, StunMethod::kCreatePermission, StunMethod::kChannelBind,
                      StunMethod::kAllocate}) {
    auto out = anonymous.send(anonymous.build(method, {}, false), at(1));
    ASSERT_TRUE(out);
    EXPECT_EQ(out->code(), 401) << wire::stun_method_name(method);
  }
}

TEST(ServerAuth, AnotherUserOnTheAllocationIs441) {
  Fixture f;
  auto alice = f.client();
  alice.allocate(at(0));
  TestClient bob(*f.server, alice.tuple(), "bob", "bob-pass");
  auto out = bob.refresh(600, at(1));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code(), 441);
  EXPECT_EQ(bob.check(*out), wire::StunCheck::kValid);
  EXPECT_EQ(f.drops(RelayDrop::kWrongCredentials), 1u);
  out = bob.create_permission({ep("192.0.2.200:1")}, at(1));
  EXPECT_EQ(out->code(), 441);
}

}  // namespace
}  // namespace tern::relay::test
