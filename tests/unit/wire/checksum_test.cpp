#include "wire/checksum.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "wire/packet_builder.hpp"

namespace tern::wire {
namespace {

using test::ref_fold;
using test::ref_sum;

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
  const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(checksum_fold(checksum_add(data)), 0xddf2);
  EXPECT_EQ(checksum_finish(checksum_add(data)), 0x220d);
}

TEST(Checksum, Ipv4HeaderVerifiesToZero) {
  // A captured IPv4 header with its checksum (0xb861) in place.
  const uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                       0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(checksum_finish(checksum_add(h)), 0);
}

TEST(Checksum, MatchesTheSlowReferenceAtEveryLengthAndAlignment) {
  std::mt19937 rng(7);
  std::vector<uint8_t> buf(4096 + 16);
  for (auto& b : buf)
    b = static_cast<uint8_t>(rng());
  for (size_t len = 0; len <= 300; ++len) {
    for (size_t align = 0; align < 9; ++align) {
      Bytes d(buf.data() + align, len);
      ASSERT_EQ(checksum_fold(checksum_add(d)), ref_fold(ref_sum(d.data(), len)))
          << "len " << len << " align " << align;
    }
  }
  for (int i = 0; i < 2000; ++i) {
    const size_t len = rng() % 4097, align = rng() % 16;
    Bytes d(buf.data() + align, len);
    ASSERT_EQ(checksum_fold(checksum_add(d)), ref_fold(ref_sum(d.data(), len))) << len;
  }
}

TEST(Checksum, AllOnesDataDoesNotLoseCarries) {
  std::vector<uint8_t> ff(65535, 0xff);
  EXPECT_EQ(checksum_fold(checksum_add(ff)), ref_fold(ref_sum(ff.data(), ff.size())));
  EXPECT_EQ(checksum_fold(checksum_add(ff, 0xffffffffull)),
            ref_fold(ref_sum(ff.data(), ff.size(), 0xffff) + 0xffff));
}

TEST(Checksum, PiecesAddUpToTheWhole) {
  std::mt19937 rng(11);
  for (int i = 0; i < 500; ++i) {
    std::vector<uint8_t> d(rng() % 3000 + 2);
    for (auto& b : d)
      b = static_cast<uint8_t>(rng());
    const size_t cut = (rng() % d.size()) & ~size_t{1};  // pieces before the last are even
    Bytes all(d);
    uint64_t sum = checksum_add(all.first(cut));
    sum = checksum_add(all.subspan(cut), sum);
    ASSERT_EQ(checksum_fold(sum), checksum_fold(checksum_add(all)));
  }
}

TEST(Checksum, PseudoHeaderMatchesTheReference) {
  const uint8_t src4[] = {192, 0, 2, 1}, dst4[] = {198, 51, 100, 7};
  uint32_t want = ref_sum(src4, 4);
  want = ref_sum(dst4, 4, want) + 6 + 1480;
  EXPECT_EQ(checksum_fold(pseudo_header_sum(src4, dst4, 6, 1480)), ref_fold(want));

  uint8_t src6[16], dst6[16];
  for (int i = 0; i < 16; ++i) {
    src6[i] = static_cast<uint8_t>(0xf0 + i);
    dst6[i] = static_cast<uint8_t>(0x20 * i + 1);
  }
  const uint32_t len = 70000;  // jumbo lengths carry into the upper word
  want = ref_sum(src6, 16);
  want = ref_sum(dst6, 16, want) + 17 + (len >> 16) + (len & 0xffff);
  EXPECT_EQ(checksum_fold(pseudo_header_sum(src6, dst6, 17, len)), ref_fold(want));
}

}  // namespace
}  // namespace tern::wire
