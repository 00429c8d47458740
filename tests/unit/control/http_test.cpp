#include "control/http.hpp"

#include <gtest/gtest.h>

#include <random>

namespace tern::control {
namespace {

TEST(Http, ParsesARequestWithABody) {
  const std::string wire =
      "POST /api/v1/register?x=1 HTTP/1.1\r\nHost: c\r\nContent-Type: application/json\r\n"
      "Content-Length: 7\r\nAuthorization:  Bearer abc \r\n\r\n{\"a\":1}NEXT";
  HttpRequest r;
  const auto p = parse_http_request(wire, r);
  ASSERT_EQ(p.result, HttpParse::kOk);
  EXPECT_EQ(p.consumed, wire.size() - 4);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/api/v1/register");
  EXPECT_EQ(r.query, "x=1");
  EXPECT_EQ(r.body, "{\"a\":1}");
  EXPECT_EQ(r.header("authorization"), "Bearer abc");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_FALSE(r.header("cookie"));
}

TEST(Http, IncompleteUntilTheWholeBodyIsThere) {
  const std::string wire = "POST / HTTP/1.1\nContent-Length: 5\n\nhello";
  HttpRequest r;
  for (size_t n = 0; n < wire.size(); ++n) {
    EXPECT_EQ(parse_http_request(wire.substr(0, n), r).result, HttpParse::kIncomplete) << n;
  }
  EXPECT_EQ(parse_http_request(wire, r).result, HttpParse::kOk);
  EXPECT_EQ(r.body, "hello");
}

TEST(Http, RefusesWhatItShould) {
  HttpRequest r;
  auto result = [&](std::string_view s) { return parse_http_request(s, r).result; };
  EXPECT_EQ(result("GET /\r\n\r\n"), HttpParse::kBad);
  EXPECT_EQ(result("GET x HTTP/1.1\r\n\r\n"), HttpParse::kBad);
  EXPECT_EQ(result("GET / HTTP/2\r\n\r\n"), HttpParse::kBad);
  EXPECT_EQ(result("G(T / HTTP/1.1\r\n\r\n"), HttpParse::kBad);
  EXPECT_EQ(result("GET / HTTP/1.1\r\nNoColon\r\n\r\n"), HttpParse::kBad);
  EXPECT_EQ(result("GET / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\nx"),
            HttpParse::kBad);
  EXPECT_EQ(result("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), HttpParse::kBad);
  EXPECT_EQ(result("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            HttpParse::kUnsupported);
  // 413 from the announced length, before any of the body arrives.
  EXPECT_EQ(result("POST / HTTP/1.1\r\nContent-Length: 65537\r\n\r\n"), HttpParse::kBodyTooLarge);
  EXPECT_EQ(result("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"),
            HttpParse::kBad);
  EXPECT_EQ(result("GET / HTTP/1.1\r\nX: " + std::string(kMaxHead, 'a')), HttpParse::kHeadTooLarge);
  std::string many = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i <= kMaxHeaders; ++i)
    many += "X: y\r\n";
  EXPECT_EQ(result(many + "\r\n"), HttpParse::kHeadTooLarge);
}

TEST(Http, SerializesAResponse) {
  HttpResponse r;
  r.status = 403;
  r.body = "{}";
  r.headers.emplace_back("X-A", "b");
  const std::string wire = serialize_response(r, true);
  EXPECT_TRUE(wire.starts_with("HTTP/1.1 403 Forbidden\r\n"));
  EXPECT_NE(wire.find("Content-Length: 2\r\n"), std::string::npos);
  EXPECT_NE(wire.find("X-A: b\r\n"), std::string::npos);
  EXPECT_NE(wire.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(wire.ends_with("\r\n\r\n{}"));
}

TEST(Http, RandomBytesNeverCrashAndNeverOverconsume) {
  std::mt19937 rng(3);
  const std::string alphabet = "GETPOST /:\r\n0123456789Content-Length";
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 200, ' ');
    for (auto& c : s)
      c = alphabet[rng() % alphabet.size()];
    HttpRequest r;
    const auto p = parse_http_request(s, r);
    EXPECT_LE(p.consumed, s.size());
  }
}

}  // namespace
}  // namespace tern::control
