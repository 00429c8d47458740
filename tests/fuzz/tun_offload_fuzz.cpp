// Fuzzes the TUN offload code with what a TUN or a peer could hand it. The first byte picks:
//   even: a frame as read from the TUN (virtio-net header, then a packet): whatever
//         parse_gso_frame accepts must cut into packets whose lengths and checksums are right;
//   odd:  a batch of decrypted packets (each a 2-byte length, then its bytes) for GRO, UDP too
//         when bit 1 is set: every packet must come out once, lone packets untouched, and each
//         coalesced frame must cut back into as many packets as went in, all checksums valid.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "wire/checksum.hpp"
#include "wire/gro.hpp"
#include "wire/gso_split.hpp"
#include "wire/virtio_net.hpp"

using namespace tern;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

// A packet that gso_split wrote: length fields and the transport checksum agree with it.
void check_segment(const wire::GsoFrame& f, Bytes p) {
  require(p.size() >= f.header_length && p.size() <= f.max_packet_size);
  const size_t l4 = f.transport_offset;
  if (f.ipv6) {
    require(be16(&p[4]) == p.size() - 40);
  } else {
    require(be16(&p[2]) == p.size());
    require(wire::checksum_fold(wire::checksum_add(p.first(l4))) == 0xffff);
  }
  const size_t at = f.ipv6 ? 8 : 12, n = f.ipv6 ? 16 : 4;
  const uint8_t proto = f.transport == wire::GsoFrame::Transport::kTcp ? 6 : 17;
  const uint64_t pseudo = wire::pseudo_header_sum(p.subspan(at, n), p.subspan(at + n, n), proto,
                                                  static_cast<uint32_t>(p.size() - l4));
  require(wire::checksum_fold(wire::checksum_add(p.subspan(l4), pseudo)) == 0xffff);
}

void fuzz_frame(Bytes in) {
  auto h = wire::parse_virtio_net_header(in);
  if (!h) return;
  std::vector<uint8_t> packet(in.begin() + wire::kVirtioNetHeaderSize, in.end());
  if (h->gso_type == wire::kVirtioNetGsoNone) {
    (void)wire::complete_partial_checksum(packet, *h);
    return;
  }
  auto f = wire::parse_gso_frame(*h, packet);
  if (!f) return;
  require(f->segment_count >= 1);
  std::vector<uint8_t> out(f->max_packet_size);
  for (size_t k = 0; k < f->segment_count && k < 256; ++k) {
    const size_t n = wire::write_gso_segment(*f, packet, k, out);
    require(n > 0);
    check_segment(*f, Bytes(out.data(), n));
  }
  require(wire::write_gso_segment(*f, packet, f->segment_count, out) == 0);
}

void fuzz_gro(Bytes in, bool udp) {
  std::vector<std::vector<uint8_t>> packets;
  while (in.size() >= 2) {
    const size_t len = std::min<size_t>(be16(in.data()) % 2048, in.size() - 2);
    packets.emplace_back(in.begin() + 2, in.begin() + 2 + static_cast<long>(len));
    in = in.subspan(2 + len);
  }
  const std::vector<std::vector<uint8_t>> original = packets;
  wire::Gro gro(16);  // small, so batches fill up
  gro.set_udp(udp);
  size_t begin = 0;
  while (begin < packets.size()) {
    gro.clear();
    size_t end = begin;
    while (end < packets.size() && gro.add(packets[end]))
      ++end;
    gro.finish();
    size_t seen = 0;
    for (size_t i = 0; i < gro.frame_count(); ++i) {
      const auto frame = gro.frame(i);
      require(frame.packets >= 1 && !frame.parts.empty());
      seen += frame.packets;
      if (frame.header.gso_type == wire::kVirtioNetGsoNone) {
        require(frame.packets == 1 && frame.parts.size() == 1);
        continue;
      }
      std::vector<uint8_t> whole;
      for (Bytes part : frame.parts)
        whole.insert(whole.end(), part.begin(), part.end());
      require(whole.size() <= 65535 + 40);
      auto f = wire::parse_gso_frame(frame.header, whole);
      require(f.has_value());
      require(f->segment_count == frame.packets);
      std::vector<uint8_t> out(f->max_packet_size);
      for (size_t k = 0; k < f->segment_count; ++k) {
        const size_t n = wire::write_gso_segment(*f, whole, k, out);
        require(n > 0);
        check_segment(*f, Bytes(out.data(), n));
      }
    }
    require(seen == end - begin);
    // Lone packets are written as they came.
    for (size_t i = 0; i < gro.frame_count(); ++i) {
      const auto frame = gro.frame(i);
      if (frame.header.gso_type != wire::kVirtioNetGsoNone) continue;
      Bytes p = frame.parts[0];
      bool found = false;
      for (size_t k = begin; k < end && !found; ++k) {
        found = p.data() == packets[k].data() && p.size() == original[k].size() &&
                std::memcmp(p.data(), original[k].data(), p.size()) == 0;
      }
      require(found);
    }
    begin = end;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const Bytes in(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    fuzz_frame(in);
  } else {
    fuzz_gro(in, data[0] & 2);
  }
  return 0;
}
