#include "wire/virtio_net.hpp"

namespace tern::wire {
namespace {

uint16_t le16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

void put_le16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

}  // namespace

std::optional<VirtioNetHeader> parse_virtio_net_header(Bytes in) {
  if (in.size() < kVirtioNetHeaderSize) return std::nullopt;
  VirtioNetHeader h;
  h.flags = in[0];
  h.gso_type = in[1];
  h.hdr_len = le16(&in[2]);
  h.gso_size = le16(&in[4]);
  h.csum_start = le16(&in[6]);
  h.csum_offset = le16(&in[8]);
  return h;
}

bool serialize_virtio_net_header(const VirtioNetHeader& h, MutableBytes out) {
  if (out.size() < kVirtioNetHeaderSize) return false;
  out[0] = h.flags;
  out[1] = h.gso_type;
  put_le16(&out[2], h.hdr_len);
  put_le16(&out[4], h.gso_size);
  put_le16(&out[6], h.csum_start);
  put_le16(&out[8], h.csum_offset);
  return true;
}

}  // namespace tern::wire
