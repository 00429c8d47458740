// Fuzzes the UAPI server side with arbitrary bytes: the first input byte picks
// how the rest is split into socket reads, the framer frames requests, and every
// "set" body goes through parse_set. Nothing may crash or grow past the limit;
// a parsed request must format back into a get reply without trouble.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "uapi/uapi.hpp"

using namespace tern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 64;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  uapi::RequestFramer framer(2048);
  while (!bytes.empty()) {
    const size_t n = std::min(piece, bytes.size());
    framer.feed(bytes.substr(0, n));
    bytes.remove_prefix(n);
    if (framer.buffered() > 2048 + 2) std::abort();
    for (;;) {
      auto request = framer.next();
      if (!request) {
        if (request.error().errno_value == 0) std::abort();
        return 0;  // the connection would be closed
      }
      if (!*request) break;
      if ((*request)->operation != uapi::Request::Operation::kSet) continue;
      auto set = uapi::parse_set((*request)->body);
      if (!set) {
        if (set.error().errno_value == 0) std::abort();
        continue;
      }
      // Echo what was set through the get formatter, as the agent would.
      uapi::DeviceSnapshot snap;
      snap.private_key = set->private_key;
      snap.listen_port = set->listen_port.value_or(0);
      for (const auto& change : set->peers) {
        uapi::PeerSnapshot p;
        p.public_key = change.public_key;
        p.preshared_key = change.preshared_key;
        p.endpoint = change.endpoint;
        p.allowed_ips = change.allowed_ips;
        snap.peers.push_back(p);
      }
      std::string reply = uapi::format_get(snap);
      if (reply.size() < 9 || reply.compare(reply.size() - 9, 9, "errno=0\n\n") != 0) std::abort();
    }
  }
  return 0;
}
