// What a raw or ping socket hands the DF-ping search (`tern doctor mtu`): any datagram, read
// with each framing and family, then fed to a search as replies and errors. No crash, and the
// search stays within its bounds whatever arrives.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <variant>

#include "doctor/df_ping_icmp.hpp"
#include "doctor/df_ping_search.hpp"

using namespace tern;
using namespace tern::doctor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Bytes input(data, size);
  DfSearchConfig config;
  config.min_size = 68;
  config.max_size = 1500;
  Instant now = instant_from_ns(0);
  DfSearch search(config, now);
  for (auto family : {IpAddress::Family::kV4, IpAddress::Family::kV6}) {
    for (auto framing : {IcmpFraming::kWithIpv4Header, IcmpFraming::kIcmpOnly}) {
      const IcmpMessage m = parse_icmp(input, framing, family);
      while (auto p = search.poll_transmit(now)) {
        if (p->size < config.min_size && p->size != config.reach_size) std::abort();
        if (p->size > config.max_size) std::abort();
      }
      now += std::chrono::milliseconds(10);
      if (const auto* r = std::get_if<EchoReply>(&m)) {
        if (r->data.size() > size) std::abort();
        (void)search.on_reply(r->seq, now);
      } else if (const auto* e = std::get_if<IcmpError>(&m)) {
        if (!e->too_big && e->mtu != 0) std::abort();
        (void)search.on_error(e->seq, e->too_big, e->mtu, now);
      }
      search.handle_timeout(now);
    }
    (void)parse_quoted_echo(input, family);
  }
  const auto r = search.result();
  if (r.largest_answered && *r.largest_answered > config.max_size) std::abort();
  return 0;
}
