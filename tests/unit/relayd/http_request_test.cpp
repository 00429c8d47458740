#include "relayd/http_request.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "relayd/metrics_http.hpp"

namespace tern::relayd {
namespace {

TEST(HttpRequest, ParsesTheRequestLine) {
  HttpRequestLine line;
  ASSERT_EQ(parse_http_head("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", line), HttpParse::kOk);
  EXPECT_EQ(line.method, "GET");
  EXPECT_EQ(line.target, "/metrics");
  ASSERT_EQ(parse_http_head("HEAD /metrics?x=1 HTTP/1.0\n\n", line), HttpParse::kOk);
  EXPECT_EQ(line.method, "HEAD");
  EXPECT_EQ(line.target, "/metrics");
}

TEST(HttpRequest, IncompleteBadAndTooLarge) {
  HttpRequestLine line;
  EXPECT_EQ(parse_http_head("", line), HttpParse::kIncomplete);
  EXPECT_EQ(parse_http_head("GET /metrics HTTP/1.1\r\n", line), HttpParse::kIncomplete);
  EXPECT_EQ(parse_http_head("GET /metrics\r\n\r\n", line), HttpParse::kBad);
  EXPECT_EQ(parse_http_head("GET  /metrics HTTP/1.1\r\n\r\n", line), HttpParse::kBad);
  EXPECT_EQ(parse_http_head(" GET /metrics HTTP/1.1\r\n\r\n", line), HttpParse::kBad);
  EXPECT_EQ(parse_http_head("GET metrics HTTP/1.1\r\n\r\n", line), HttpParse::kBad);
  EXPECT_EQ(parse_http_head("GET /metrics HTTP/2\r\n\r\n", line), HttpParse::kBad);
  EXPECT_EQ(parse_http_head("G(T /metrics HTTP/1.1\r\n\r\n", line), HttpParse::kBad);
  EXPECT_EQ(parse_http_head(std::string("GET /m\x01 HTTP/1.1\r\n\r\n"), line), HttpParse::kBad);
  std::string huge = "GET /metrics HTTP/1.1\r\nX: " + std::string(kMaxHttpHead, 'a');
  EXPECT_EQ(parse_http_head(huge, line), HttpParse::kTooLarge);
  EXPECT_EQ(parse_http_head(huge + "\r\n\r\n", line), HttpParse::kTooLarge);
}

TEST(HttpRequest, Responses) {
  auto body = [] { return std::string("tern_relay_allocations 3\n"); };
  std::string ok = http_response("GET /metrics HTTP/1.1\r\n\r\n", false, body);
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(ok.find("Content-Length: 25\r\n"), std::string::npos);
  EXPECT_TRUE(ok.ends_with("\r\n\r\ntern_relay_allocations 3\n"));
  std::string head = http_response("HEAD /metrics HTTP/1.1\r\n\r\n", false, body);
  EXPECT_TRUE(head.ends_with("\r\n\r\n"));
  EXPECT_NE(head.find("Content-Length: 25\r\n"), std::string::npos);
  EXPECT_EQ(http_response("GET /metrics HTTP/1.1\r\n", false, body), "");
  EXPECT_EQ(http_response("GET /metrics HTTP/1.1\r\n", true, body).rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(http_response("GET / HTTP/1.1\r\n\r\n", false, body).rfind("HTTP/1.1 404", 0), 0u);
  std::string post = http_response("POST /metrics HTTP/1.1\r\n\r\n", false, body);
  EXPECT_EQ(post.rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos);
}

// Random mutations of a valid head: the parser never reads past its input
// (ASan would say), and a kOk answer always has views inside the input.
TEST(HttpRequest, RandomInputStaysInside) {
  std::mt19937 rng(7);
  const std::string seed = "GET /metrics?a=b HTTP/1.1\r\nHost: relay\r\n\r\n";
  for (int i = 0; i < 20000; ++i) {
    std::string s = seed;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % (s.size() + 1);
      switch (rng() % 3) {
        case 0:
          if (pos < s.size()) s[pos] = static_cast<char>(rng());
          break;
        case 1:
          s.insert(pos, 1, static_cast<char>(rng()));
          break;
        default:
          if (pos < s.size()) s.erase(pos, 1);
      }
    }
    s.resize(rng() % (s.size() + 1));
    std::string copy(s);  // exactly sized, so an overread is caught
    HttpRequestLine line;
    if (parse_http_head(copy, line) == HttpParse::kOk) {
      EXPECT_GE(line.method.data(), copy.data());
      EXPECT_LE(line.target.data() + line.target.size(), copy.data() + copy.size());
      EXPECT_EQ(line.target.front(), '/');
    }
  }
}

}  // namespace
}  // namespace tern::relayd
