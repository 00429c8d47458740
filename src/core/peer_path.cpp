#include "core/peer_path.hpp"

#include <algorithm>

#include "wire/path_probe.hpp"

namespace tern::core {

std::string_view probe_support_name(ProbeSupport s) {
  switch (s) {
    case ProbeSupport::kUnknown:
      return "unknown";
    case ProbeSupport::kTern:
      return "tern";
    case ProbeSupport::kStock:
      return "stock";
  }
  return "unknown";
}

size_t probe_message_size(size_t path_mtu, const PathLeg& leg) {
  const size_t headers = (leg.outer_v6 ? kProbeHeadersV6 : kProbeHeadersV4) + leg.relay_framing;
  if (path_mtu < headers + wire::kPathProbeMinSize) return 0;
  const size_t size = path_mtu - headers;
  return size > wire::kPathProbeMaxSize ? 0 : size;
}

size_t overlay_mtu(size_t device_mtu, uint16_t announced_mtu, std::optional<size_t> path_mtu,
                   const PathLeg& leg) {
  size_t mtu = device_mtu;
  if (announced_mtu != 0) mtu = std::min(mtu, std::max<size_t>(announced_mtu, kMinAnnouncedMtu));
  if (path_mtu && !leg.stream) {
    const size_t overhead = encapsulation_overhead(leg);
    // The base (1280) less 80 (and a relay's framing) is still above 576: a path never takes the
    // MTU below that.
    mtu = std::min(mtu, *path_mtu > overhead ? *path_mtu - overhead : kMinAnnouncedMtu);
  }
  return mtu;
}

bool PongLimiter::allow(Instant now) {
  if (!last_) {
    last_ = now;
  } else if (now > *last_) {
    const auto earned = static_cast<uint64_t>((now - *last_) / kInterval);
    if (earned > 0) {
      tokens_ = static_cast<unsigned>(std::min<uint64_t>(kBurst, tokens_ + earned));
      *last_ += kInterval * earned;
      if (tokens_ == kBurst) last_ = now;
    }
  }
  if (tokens_ == 0) return false;
  --tokens_;
  return true;
}

}  // namespace tern::core
