#include "doctor/relay_tls.hpp"

#include <gtest/gtest.h>

namespace tern::doctor {
namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kDay = 86400;

TlsReport good() {
  TlsReport t;
  t.protocol = "TLSv1.3";
  t.cipher = "TLS_AES_256_GCM_SHA384";
  t.handshake_time = std::chrono::milliseconds(3);
  t.has_certificate = true;
  t.subject = "CN=turn.example.org";
  t.issuer = "CN=R11, O=Let's Encrypt, C=US";
  t.names = {"turn.example.org"};
  t.not_before_unix = kNow - 10 * kDay;
  t.not_after_unix = kNow + 80 * kDay;
  t.trusted = true;
  t.name_matches = true;
  return t;
}

TEST(RelayTls, TrustedMatchingCertificatePasses) {
  auto c = judge_tls(good(), "turn.example.org", kNow);
  EXPECT_EQ(c.status, CheckStatus::kPass);
  EXPECT_NE(c.detail.find("TLSv1.3 TLS_AES_256_GCM_SHA384, handshake 3.0 ms"), std::string::npos)
      << c.detail;
  EXPECT_NE(c.detail.find("certificate for turn.example.org, issued by CN=R11"), std::string::npos);
  EXPECT_NE(c.detail.find("valid until 2027-"), std::string::npos) << c.detail;
  EXPECT_EQ(c.fix, "");
}

TEST(RelayTls, ExpiredComesFirstWhateverElseIsWrong) {
  auto t = good();
  t.not_after_unix = kNow - 3 * kDay - 5;
  t.trusted = false;
  t.name_matches = false;
  auto c = judge_tls(t, "relay.example.net", kNow);
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_NE(c.detail.find("EXPIRED 3 days ago"), std::string::npos) << c.detail;
  EXPECT_NE(c.fix.find("renew the certificate"), std::string::npos);
}

TEST(RelayTls, NotYetValidBlamesTheClock) {
  auto t = good();
  t.not_before_unix = kNow + kDay;
  auto c = judge_tls(t, "turn.example.org", kNow);
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_NE(c.fix.find("clock"), std::string::npos);
}

TEST(RelayTls, WrongNameSaysWhichNamesItCovers) {
  auto t = good();
  t.names = {"turn.example.org", "192.0.2.7"};
  t.name_matches = false;
  auto c = judge_tls(t, "relay.example.net", kNow);
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_NE(c.detail.find("certificate for turn.example.org, 192.0.2.7"), std::string::npos);
  EXPECT_NE(c.detail.find("does not cover relay.example.net"), std::string::npos) << c.detail;
  EXPECT_NE(c.fix.find("includes relay.example.net"), std::string::npos);
}

TEST(RelayTls, UntrustedTellsSelfSignedFromAMissingChain) {
  auto t = good();
  t.trusted = false;
  t.verify_error = "unable to get local issuer certificate";
  auto chain = judge_tls(t, "turn.example.org", kNow);
  EXPECT_EQ(chain.status, CheckStatus::kFail);
  EXPECT_NE(chain.detail.find("not trusted (unable to get local issuer certificate)"),
            std::string::npos);
  EXPECT_NE(chain.fix.find("full chain"), std::string::npos);
  t.self_signed = true;
  auto self = judge_tls(t, "turn.example.org", kNow);
  EXPECT_NE(self.detail.find("not trusted (self-signed)"), std::string::npos);
  EXPECT_NE(self.fix.find("--ca-file"), std::string::npos);
}

TEST(RelayTls, ExpiringSoonWarns) {
  auto t = good();
  t.not_after_unix = kNow + 5 * kDay + 100;
  auto c = judge_tls(t, "turn.example.org", kNow);
  EXPECT_EQ(c.status, CheckStatus::kWarn);
  EXPECT_NE(c.detail.find("expires in 5 days"), std::string::npos);
  t.not_after_unix = kNow + kCertificateWarnDays * kDay + 100;
  EXPECT_EQ(judge_tls(t, "turn.example.org", kNow).status, CheckStatus::kPass);
}

TEST(RelayTls, NoCertificateFails) {
  TlsReport t;
  t.protocol = "TLSv1.3";
  EXPECT_EQ(judge_tls(t, "x", kNow).status, CheckStatus::kFail);
}

TEST(RelayTls, JsonCarriesTheCertificate) {
  RelayUrlResult r;
  r.url = "turns:192.0.2.2:5349?transport=tcp";
  r.transport = "tls";
  r.connect_time = std::chrono::microseconds(1500);
  r.tls_facts = good();
  r.tls = judge_tls(*r.tls_facts, "turn.example.org", kNow);
  auto j = to_json({r});
  const auto& u = j["urls"][0];
  EXPECT_EQ(u["connect_ms"], 1.5);
  EXPECT_EQ(u["checks"]["tls"]["status"], "pass");
  EXPECT_EQ(u["tls"]["protocol"], "TLSv1.3");
  EXPECT_EQ(u["tls"]["certificate"]["names"][0], "turn.example.org");
  EXPECT_EQ(u["tls"]["certificate"]["not_after_unix"], kNow + 80 * kDay);
  EXPECT_EQ(u["tls"]["certificate"]["not_after"], utc_text(kNow + 80 * kDay));
  EXPECT_EQ(u["tls"]["certificate"]["trusted"], true);
  // UDP results have no TLS part and a skipped check that the human report leaves out.
  RelayUrlResult udp;
  udp.url = "turn:192.0.2.2:3478?transport=udp";
  EXPECT_TRUE(to_json({udp})["urls"][0]["tls"].is_null());
  EXPECT_EQ(render_human({udp}).find("tls"), std::string::npos);
}

TEST(RelayTls, UtcText) {
  EXPECT_EQ(utc_text(1'700'000'000), "2023-11-14T22:13:20Z");
}

}  // namespace
}  // namespace tern::doctor
