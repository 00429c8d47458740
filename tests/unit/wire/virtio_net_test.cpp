#include "wire/virtio_net.hpp"

#include <gtest/gtest.h>

#include <array>

namespace tern::wire {
namespace {

TEST(VirtioNet, LayoutIsLittleEndianInFieldOrder) {
  VirtioNetHeader h;
  h.flags = kVirtioNetNeedsCsum;
  h.gso_type = kVirtioNetGsoTcpV6;
  h.hdr_len = 0x0102;
  h.gso_size = 0x0304;
  h.csum_start = 0x0506;
  h.csum_offset = 0x0708;
  std::array<uint8_t, kVirtioNetHeaderSize> out{};
  ASSERT_TRUE(serialize_virtio_net_header(h, out));
  const std::array<uint8_t, 10> want = {1, 4, 0x02, 0x01, 0x04, 0x03, 0x06, 0x05, 0x08, 0x07};
  EXPECT_EQ(out, want);
  auto back = parse_virtio_net_header(out);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->flags, h.flags);
  EXPECT_EQ(back->gso_type, h.gso_type);
  EXPECT_EQ(back->hdr_len, h.hdr_len);
  EXPECT_EQ(back->gso_size, h.gso_size);
  EXPECT_EQ(back->csum_start, h.csum_start);
  EXPECT_EQ(back->csum_offset, h.csum_offset);
}

TEST(VirtioNet, ShortBuffersAreRefused) {
  std::array<uint8_t, 9> small{};
  EXPECT_FALSE(parse_virtio_net_header(small));
  EXPECT_FALSE(serialize_virtio_net_header(VirtioNetHeader{}, small));
  EXPECT_EQ(small, (std::array<uint8_t, 9>{}));
}

}  // namespace
}  // namespace tern::wire
