// What an agent of a tern control network keeps on disk, in its state directory (default
// /var/lib/tern/IFACE, mode 0700, every file 0600): its private key (made on first run), the
// server's URL, the stream token registration gave it and the last network map. With these a
// restart needs neither the setup key nor the server: the tunnels come up from the map.
#pragma once

#include <optional>
#include <string>

#include "base/result.hpp"
#include "control/network_map.hpp"
#include "crypto/key.hpp"

namespace tern::agent {

struct ControlState {
  std::string dir;
  crypto::Key private_key{};
  std::string server_url;    // where the token below is valid
  std::string stream_token;  // empty: not registered (yet)
  std::optional<control::NetworkMap> map;
  int64_t map_saved_unix = 0;  // when the cached map was written (its age after a restart)
};

// Creates `dir` (0700) when missing and loads what is there; a missing key is generated and
// saved. A token saved for another server URL is dropped (the agent registers again).
[[nodiscard]] Result<ControlState> load_control_state(const std::string& dir,
                                                      const std::string& server_url);

// Each write is a whole file replaced atomically (write, fsync, rename), mode 0600.
[[nodiscard]] Status save_registration(const ControlState& state);
[[nodiscard]] Status save_map(const std::string& dir, const control::NetworkMap& map);
// Forgets the token and the map (this peer was removed from the network).
void forget_registration(const std::string& dir);

}  // namespace tern::agent
