#include "control/map_hub.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "control/api_requests.hpp"

namespace tern::control {

std::string MapHub::subscribe(uint64_t stream, const PeerRecord& self,
                              const std::vector<PeerRecord>& all, const AddressPlan& plan,
                              int64_t revision, int64_t now_unix) {
  NetworkMap map = build_map(all, self, plan, relays_, revision, now_unix);
  std::string message = map_json(map).dump();
  subs_[stream] = Subscription{self.public_key, std::move(map)};
  return message;
}

std::vector<MapPush> MapHub::publish(const std::vector<PeerRecord>& all, const AddressPlan& plan,
                                     int64_t revision, int64_t now_unix) {
  std::vector<MapPush> out;
  for (auto it = subs_.begin(); it != subs_.end();) {
    auto self = std::find_if(all.begin(), all.end(),
                             [&](const PeerRecord& p) { return p.public_key == it->second.key; });
    if (self == all.end()) {
      out.push_back(MapPush{it->first, R"({"type":"removed"})", true});
      it = subs_.erase(it);
      continue;
    }
    NetworkMap next = build_map(all, *self, plan, relays_, revision, now_unix);
    const MapDelta delta = diff_maps(it->second.last, next);
    if (!delta.empty()) out.push_back(MapPush{it->first, delta_json(delta).dump(), false});
    it->second.last = std::move(next);
    ++it;
  }
  return out;
}

Result<std::vector<Endpoint>> parse_endpoints_message(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("not a JSON object");
  const auto type = j.find("type");
  if (type == j.end() || !type->is_string() || *type != "endpoints") {
    return fail("unknown message type");
  }
  const auto list = j.find("endpoints");
  if (list == j.end() || !list->is_array() || list->size() > kMaxEndpoints) {
    return fail("\"endpoints\" must be an array of up to 16 \"ADDR:PORT\" strings");
  }
  std::vector<Endpoint> out;
  for (const auto& e : *list) {
    if (!e.is_string()) return fail("\"endpoints\" must hold strings");
    auto ep = Endpoint::parse(e.get_ref<const std::string&>());
    if (!ep || ep->port == 0) return fail("an endpoint is not a numeric ADDR:PORT");
    out.push_back(*ep);
  }
  return out;
}

}  // namespace tern::control
