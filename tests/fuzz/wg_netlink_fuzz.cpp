// Fuzzes the kernel WireGuard netlink reader: the input is cut into reply messages (each one
// with its nlmsghdr length patched to what is left or to what the input says), merged into
// one device as a dump would be. Nothing may crash or read past a message.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "doctor/wg_netlink.hpp"

using namespace tern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  doctor::WgNetlinkDevice device;
  (void)doctor::parse_family_id(Bytes(data, size));
  size_t pos = 0;
  while (pos + 2 <= size) {
    const size_t want = data[pos] | (data[pos + 1] << 8);
    pos += 2;
    const size_t len = std::min(want, size - pos);
    std::vector<uint8_t> m(data + pos, data + pos + len);
    pos += len;
    if (!doctor::merge_device_message(m, device)) break;
  }
  return 0;
}
