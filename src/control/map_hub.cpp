#include "control/map_hub.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "control/api_requests.hpp"
#include "crypto/key_encoding.hpp"

namespace tern::control {
namespace {

bool by_key(const MapPeer& a, const MapPeer& b) {
  return a.public_key < b.public_key;
}

// The difference between two revisions' lists, serialised once for every stream that saw
// `from`: the streams' messages are this with their own record taken out.
struct SharedDiff {
  std::vector<const MapPeer*> upserted;  // into the new list, sorted by key
  std::vector<std::string> upserted_json;
  std::string removed_json;  // ["KEY",...]
  bool removed_any = false;
  std::shared_ptr<const std::string> common;  // the delta of a stream none of whose own things
                                              // changed, one buffer for all of them
};

SharedDiff diff_lists(const std::vector<MapPeer>& from, const std::vector<MapPeer>& to) {
  SharedDiff d;
  nlohmann::json removed = nlohmann::json::array();
  size_t i = 0, j = 0;  // both sorted by key: one merge pass
  while (i < from.size() || j < to.size()) {
    if (j == to.size() || (i < from.size() && from[i].public_key < to[j].public_key)) {
      removed.push_back(crypto::key_to_base64(from[i++].public_key));
    } else if (i == from.size() || to[j].public_key < from[i].public_key) {
      d.upserted.push_back(&to[j++]);
    } else {
      if (!(from[i] == to[j])) d.upserted.push_back(&to[j]);
      ++i;
      ++j;
    }
  }
  d.removed_any = !removed.empty();
  d.removed_json = removed.dump();
  d.upserted_json.reserve(d.upserted.size());
  for (const MapPeer* p : d.upserted)
    d.upserted_json.push_back(peer_json(*p).dump());
  return d;
}

// delta_json(...).dump() assembled from parts already serialised (same bytes: nlohmann
// orders an object's keys alphabetically). `skip` is an upserted index to leave out.
std::string delta_text(int64_t from, int64_t to, const std::string* relays, const SharedDiff& d,
                       const std::string* self, size_t skip) {
  std::string s = R"({"from":)" + std::to_string(from);
  if (relays) s += R"(,"relays":)" + *relays;
  s += R"(,"removed":)" + d.removed_json;
  if (self) s += R"(,"self":)" + *self;
  s += R"(,"to":)" + std::to_string(to) + R"(,"type":"delta","upserted":[)";
  bool first = true;
  for (size_t i = 0; i < d.upserted_json.size(); ++i) {
    if (i == skip) continue;
    if (!first) s += ',';
    s += d.upserted_json[i];
    first = false;
  }
  s += "]}";
  return s;
}

}  // namespace

std::shared_ptr<const MapHub::PeerList> MapHub::peer_list(const std::vector<PeerRecord>& all,
                                                          int64_t revision) {
  auto list = std::make_shared<PeerList>();
  list->revision = revision;
  list->peers.reserve(all.size());
  for (const auto& r : all)
    list->peers.push_back(map_peer(r));
  std::sort(list->peers.begin(), list->peers.end(), by_key);
  // Streams opening between two revisions share one list, not one each.
  if (latest_ && latest_->revision == revision && latest_->peers == list->peers) return latest_;
  latest_ = std::move(list);
  return latest_;
}

const MapHub::PeerText& MapHub::peer_text(const std::shared_ptr<const PeerList>& list) {
  if (text_.list == list) return text_;
  std::string text;
  std::vector<size_t> starts;
  starts.reserve(list->peers.size());
  for (const auto& p : list->peers) {
    if (!starts.empty()) text += ',';
    starts.push_back(text.size());
    text += peer_json(p).dump();
  }
  text_ = PeerText{list, std::make_shared<const std::string>(std::move(text)), std::move(starts)};
  return text_;
}

SharedMessage MapHub::subscribe(uint64_t stream, const PeerRecord& self,
                                const std::vector<PeerRecord>& all, const AddressPlan& plan,
                                int64_t revision, int64_t now_unix) {
  auto list = peer_list(all, revision);
  const PeerText& shared = peer_text(list);
  MapPeer me = map_peer(self);
  std::vector<MapRelay> relays = map_relays(relays_, self.public_key, now_unix);

  // map_json(map).dump() assembled around the shared list (nlohmann orders an object's keys
  // alphabetically, "peers" first): the list is sent without this stream's own entry.
  SharedMessage m;
  m.push_back(own_text(R"({"peers":[)"));
  const std::string& text = *shared.text;
  const auto own = std::lower_bound(list->peers.begin(), list->peers.end(), me, by_key);
  if (own != list->peers.end() && own->public_key == me.public_key) {
    const auto i = static_cast<size_t>(own - list->peers.begin());
    if (i + 1 < shared.starts.size()) {  // "...,ME,NEXT...": skip "ME,"
      if (i > 0) m.push_back(SharedText{shared.text, 0, shared.starts[i]});
      m.push_back(SharedText{shared.text, shared.starts[i + 1], text.size()});
    } else if (i > 0) {  // "...,ME": keep what comes before the comma
      m.push_back(SharedText{shared.text, 0, shared.starts[i] - 1});
    }
  } else if (!text.empty()) {
    m.push_back(SharedText{shared.text, 0, text.size()});
  }
  nlohmann::json relays_j = nlohmann::json::array();
  for (const auto& r : relays)
    relays_j.push_back(relay_json(r));
  m.push_back(own_text(R"(],"relays":)" + relays_j.dump() + R"(,"revision":)" +
                       std::to_string(revision) + R"(,"self":)" + peer_json(me).dump() +
                       R"(,"type":"map","v4":)" + nlohmann::json(plan.v4.to_string()).dump() +
                       R"(,"v6":)" + nlohmann::json(plan.v6.to_string()).dump() + "}"));
  subs_[stream] = Subscription{std::move(me), std::move(relays), std::move(list)};
  return m;
}

std::vector<MapPush> MapHub::publish(const std::vector<PeerRecord>& all, const AddressPlan&,
                                     int64_t revision, int64_t now_unix) {
  const auto next = peer_list(all, revision);
  std::vector<int64_t> expiries;
  for (const auto& relay : relays_)
    expiries.push_back(credential_expiry(now_unix, relay.credential_ttl_s));
  // Usually one entry: every stream saw the previous revision.
  std::map<std::shared_ptr<const PeerList>, SharedDiff> diffs;

  std::vector<MapPush> out;
  for (auto it = subs_.begin(); it != subs_.end();) {
    Subscription& sub = it->second;
    const crypto::Key& key = sub.self.public_key;
    const auto own = std::lower_bound(next->peers.begin(), next->peers.end(), sub.self, by_key);
    if (own == next->peers.end() || own->public_key != key) {
      out.push_back(MapPush{it->first, {own_text(R"({"type":"removed"})")}, true});
      it = subs_.erase(it);
      continue;
    }
    auto [at, fresh] = diffs.try_emplace(sub.seen);
    SharedDiff& d = at->second;
    if (fresh) d = diff_lists(sub.seen->peers, next->peers);

    const bool self_changed = !(sub.self == *own);
    bool relays_changed = false;
    for (size_t i = 0; i < sub.relays.size() && i < expiries.size(); ++i) {
      relays_changed = relays_changed || sub.relays[i].expires_unix != expiries[i];
    }
    const auto mine =
        std::lower_bound(d.upserted.begin(), d.upserted.end(), key,
                         [](const MapPeer* p, const crypto::Key& k) { return p->public_key < k; });
    const size_t skip = mine != d.upserted.end() && (*mine)->public_key == key
                            ? static_cast<size_t>(mine - d.upserted.begin())
                            : d.upserted.size();
    const size_t others = d.upserted.size() - (skip < d.upserted.size() ? 1 : 0);

    if (self_changed || relays_changed || others != d.upserted.size()) {
      if (self_changed) sub.self = *own;
      std::string relays_text;
      if (relays_changed) {
        sub.relays = map_relays(relays_, key, now_unix);
        nlohmann::json j = nlohmann::json::array();
        for (const auto& r : sub.relays)
          j.push_back(relay_json(r));
        relays_text = j.dump();
      }
      const std::string self_text = self_changed ? peer_json(sub.self).dump() : std::string();
      if (self_changed || relays_changed || others > 0 || d.removed_any) {
        out.push_back(MapPush{it->first,
                              {own_text(delta_text(sub.seen->revision, revision,
                                                   relays_changed ? &relays_text : nullptr, d,
                                                   self_changed ? &self_text : nullptr, skip))},
                              false});
      }
    } else if (others > 0 || d.removed_any) {
      if (!d.common) {
        d.common = std::make_shared<const std::string>(
            delta_text(sub.seen->revision, revision, nullptr, d, nullptr, skip));
      }
      out.push_back(MapPush{it->first, {whole(d.common)}, false});
    }
    sub.seen = next;
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
