// The agents' map streams without the sockets: which agent has seen which map. A stream
// starts with the full map; after a change (the store's revision moved, or relay
// credentials rolled over) publish() gives each stream the delta from what it last got,
// and nothing to a stream whose map did not change. A stream whose peer was removed gets
// a "removed" message and is to be closed. Messages are JSON text (network_map.hpp):
//   {"type": "map", ...}   {"type": "delta", ...}   {"type": "removed"}
// What an agent sends on its stream: {"type": "endpoints", "endpoints": ["ADDR:PORT", ...]}.
//
// A change costs O(peers + streams), not O(peers x streams): the peer list is built and
// sorted once per revision and shared by every stream that saw it, the diff between two
// lists is made once, and each stream's delta is that diff with its own record taken out
// (it goes in "self") plus its relay credentials when they rolled over. A stream keeps only
// its own record, its relays and a reference to the list it last got. Messages are
// SharedMessages: a full map is the revision's serialised peer list (one buffer for all the
// streams that open at that revision, this stream's own entry skipped) between a few bytes of
// its own, and a delta most streams get is one buffer for all of them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "control/network_map.hpp"
#include "control/shared_text.hpp"
#include "control/store.hpp"

namespace tern::control {

struct MapPush {
  uint64_t stream = 0;
  SharedMessage message;
  bool close = false;
};

class MapHub {
 public:
  explicit MapHub(std::vector<RelayConfig> relays) : relays_(std::move(relays)) {}

  // Stream `stream` opened for `self`: returns the full map to send first.
  [[nodiscard]] SharedMessage subscribe(uint64_t stream, const PeerRecord& self,
                                        const std::vector<PeerRecord>& all, const AddressPlan& plan,
                                        int64_t revision, int64_t now_unix);
  void unsubscribe(uint64_t stream) { subs_.erase(stream); }
  size_t size() const { return subs_.size(); }

  // Everything to send now that the peers are `all` at `revision`.
  [[nodiscard]] std::vector<MapPush> publish(const std::vector<PeerRecord>& all,
                                             const AddressPlan& plan, int64_t revision,
                                             int64_t now_unix);

 private:
  // Every peer at one revision (the streams' own records included), sorted by key.
  struct PeerList {
    int64_t revision = 0;
    std::vector<MapPeer> peers;
  };
  struct Subscription {
    MapPeer self;
    std::vector<MapRelay> relays;
    std::shared_ptr<const PeerList> seen;  // the list its last message brought it to
  };
  // A list serialised for full maps: "PEER,PEER,...", where each entry starts.
  struct PeerText {
    std::shared_ptr<const PeerList> list;
    std::shared_ptr<const std::string> text;
    std::vector<size_t> starts;
  };
  std::shared_ptr<const PeerList> peer_list(const std::vector<PeerRecord>& all, int64_t revision);
  const PeerText& peer_text(const std::shared_ptr<const PeerList>& list);

  std::vector<RelayConfig> relays_;
  std::map<uint64_t, Subscription> subs_;
  std::shared_ptr<const PeerList> latest_;  // shared by the streams that subscribe next
  PeerText text_;                           // of the list streams last subscribed at
};

// {"type": "endpoints", "endpoints": [...]} from an agent: at most kMaxEndpoints, numeric.
[[nodiscard]] Result<std::vector<Endpoint>> parse_endpoints_message(std::string_view text);

}  // namespace tern::control
