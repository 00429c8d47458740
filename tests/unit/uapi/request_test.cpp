#include "uapi/request.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace tern::uapi {
namespace {

using Op = Request::Operation;

constexpr char kSet[] =
    "set=1\n"
    "public_key=2fd7dc73d02c998867a8aad0fb7dea3a6495312ccb324470be1890a0b5669343\n"
    "endpoint=192.0.2.1:51820\n"
    "allowed_ip=10.0.0.2/32\n"
    "\n";

TEST(UapiRequest, Get) {
  RequestFramer f;
  f.feed("get=1\n\n");
  auto r = f.next();
  ASSERT_TRUE(r);
  ASSERT_TRUE(*r);
  EXPECT_EQ((*r)->operation, Op::kGet);
  EXPECT_EQ((*r)->body, "");
  EXPECT_EQ(f.buffered(), 0u);
  auto none = f.next();
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST(UapiRequest, TernStatusArrivingByteByByte) {
  RequestFramer f;
  const std::string request = "get=tern-status\n\n";
  for (size_t i = 0; i + 1 < request.size(); ++i) {
    f.feed(request.substr(i, 1));
    auto partial = f.next();
    ASSERT_TRUE(partial) << "after " << i + 1 << " bytes";
    EXPECT_FALSE(*partial);
  }
  f.feed("\n");
  auto r = f.next();
  ASSERT_TRUE(r && *r);
  EXPECT_EQ((*r)->operation, Op::kTernStatus);
}

TEST(UapiRequest, UnknownGetVariantFails) {
  RequestFramer f;
  f.feed("get=2\n\n");
  EXPECT_FALSE(f.next());
}

TEST(UapiRequest, Set) {
  RequestFramer f;
  f.feed(kSet);
  auto r = f.next();
  ASSERT_TRUE(r && *r);
  EXPECT_EQ((*r)->operation, Op::kSet);
  EXPECT_EQ((*r)->body, std::string(kSet).substr(6, sizeof(kSet) - 1 - 6 - 1));
}

TEST(UapiRequest, EmptySet) {
  RequestFramer f;
  f.feed("set=1\n\n");
  auto r = f.next();
  ASSERT_TRUE(r && *r);
  EXPECT_EQ((*r)->operation, Op::kSet);
  EXPECT_EQ((*r)->body, "");
}

// The socket may deliver any split; every split gives the same requests.
TEST(UapiRequest, BytesInAnyPieces) {
  const std::string stream = std::string(kSet) + "get=1\n\n" + kSet;
  std::mt19937 rng(3);
  for (int round = 0; round < 200; ++round) {
    RequestFramer f;
    std::vector<Request> got;
    size_t pos = 0;
    while (pos < stream.size()) {
      size_t n = std::min<size_t>(stream.size() - pos, 1 + rng() % (round % 2 ? 3 : 40));
      f.feed(std::string_view(stream).substr(pos, n));
      pos += n;
      while (true) {
        auto r = f.next();
        ASSERT_TRUE(r) << r.error().message;
        if (!*r) break;
        got.push_back(std::move(**r));
      }
    }
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].operation, Op::kSet);
    EXPECT_EQ(got[1].operation, Op::kGet);
    EXPECT_EQ(got[2].operation, Op::kSet);
    EXPECT_EQ(got[0].body, got[2].body);
    EXPECT_EQ(got[0].body.substr(0, 11), "public_key=");
  }
}

TEST(UapiRequest, UnknownOperationFailsAtOnce) {
  for (std::string bad : {"put=1\n\n", "x", "get=2\n\n", "set=1x", "\n", "GET=1\n\n"}) {
    RequestFramer f;
    f.feed(bad);
    auto r = f.next();
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().errno_value, EINVAL);
    f.feed("get=1\n\n");  // the connection is done
    EXPECT_FALSE(f.next());
  }
}

TEST(UapiRequest, PartialOperationWaits) {
  RequestFramer f;
  f.feed("ge");
  auto r = f.next();
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  f.feed("t=1\n");
  r = f.next();
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  f.feed("\n");
  r = f.next();
  ASSERT_TRUE(r && *r);
}

TEST(UapiRequest, GetWithTrailingDataFails) {
  RequestFramer f;
  f.feed("get=1\nx\n\n");
  auto r = f.next();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errno_value, EINVAL);
}

TEST(UapiRequest, SizeLimit) {
  RequestFramer f(100);
  f.feed("set=1\n");
  for (int i = 0; i < 20; ++i)
    f.feed("listen_port=1\n");  // 286 bytes, never ends
  auto r = f.next();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errno_value, EMSGSIZE);
  EXPECT_LE(f.buffered(), 102u);
}

TEST(UapiRequest, SizeLimitAfterManyFeedsWithoutNext) {
  RequestFramer f(1000);
  f.feed("set=1\n");
  std::string chunk(4096, 'a');
  for (int i = 0; i < 1000; ++i)
    f.feed(chunk);  // 4 MB offered
  EXPECT_LE(f.buffered(), 1002u);
  EXPECT_FALSE(f.next());
}

TEST(UapiRequest, RequestsBeforeAnOverflowStillFrame) {
  RequestFramer f(64);
  f.feed("get=1\n\nset=1\n" + std::string(200, 'a'));
  auto first = f.next();
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*first)->operation, Op::kGet);
  auto second = f.next();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().errno_value, EMSGSIZE);
}

TEST(UapiRequest, ARequestAtTheLimitFits) {
  std::string body;
  while (body.size() < 1000 - 20)
    body += "listen_port=51820\n";
  std::string req = "set=1\n" + body + "\n";
  RequestFramer f(req.size());
  f.feed(req);
  auto r = f.next();
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(*r);
  EXPECT_EQ((*r)->body, body);
}

}  // namespace
}  // namespace tern::uapi
