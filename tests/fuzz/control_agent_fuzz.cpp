// libFuzzer target for what an agent takes from its control server: the register answer,
// the stream's messages (control/agent_messages.hpp), the HTTP response head
// (control/agent_http.hpp), and the maps they make applied to a real core::Device. The
// input is NUL-separated messages fed in order to one MapFollower. Whatever a map it
// accepts, the device must then hold exactly its peers, and a map must survive its own JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "control/agent_http.hpp"
#include "control/agent_map.hpp"
#include "control/agent_messages.hpp"
#include "crypto/x25519.hpp"

namespace {

using namespace tern;
using namespace tern::control;

void require(bool ok) {
  if (!ok) std::abort();
}

struct Fixed {
  crypto::Key priv{};
  crypto::Key pub{};
  Fixed() {
    priv.fill(0x41);
    priv = crypto::clamp_private_key(priv);
    pub = crypto::public_key_from_private(priv);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixed fixed;
  std::string_view in(reinterpret_cast<const char*>(data), size);

  HttpResponseHead head;
  const auto parsed = parse_http_response_head(in, head);
  require(parsed.consumed <= in.size());
  if (parsed.result == ResponseParse::kOk) {
    require(head.status >= 100 && head.status <= 999);
    (void)check_stream_upgrade(head, "dGhlIHNhbXBsZSBub25jZQ==");
  }
  (void)error_text(400, in);
  (void)parse_register_answer(in, fixed.pub);

  // One device for every input (building one per input would dominate the run time).
  static core::Device device(fixed.priv);
  device.remove_all_peers();
  MapFollower follower(fixed.pub);
  const Instant now = instant_from_ns(1'000'000'000);
  while (!in.empty()) {
    const size_t cut = in.find('\0');
    const std::string_view message = in.substr(0, cut);
    in.remove_prefix(cut == std::string_view::npos ? in.size() : cut + 1);
    const auto u = follower.on_message(message);
    apply_changes(device, u.changes, now);
    if (!follower.map()) continue;
    const NetworkMap& m = *follower.map();
    // The device holds the map's peers, no more (our own key is never a peer).
    size_t expected = 0;
    for (const auto& p : m.peers) {
      if (p.public_key == fixed.pub) continue;
      require(device.find_peer(p.public_key).has_value());
      ++expected;
    }
    require(device.peer_ids().size() == expected);
    auto again = parse_map_text(map_json(m).dump());
    require(again.has_value() && *again == m);
  }
  return 0;
}
