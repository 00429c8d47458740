#include "config/config.hpp"

#include <algorithm>
#include <map>

#include "config/values.hpp"
#include "crypto/key_encoding.hpp"
#include "crypto/x25519.hpp"

namespace tern::config {
namespace {

using detail::iequals;

constexpr std::string_view kInterfaceKeys =
    "PrivateKey, ListenPort, Address, MTU, DNS, Table, FwMark, PreUp, PostUp, PreDown, PostDown, "
    "SaveConfig, PathMtuDiscovery, MssClamp";
constexpr std::string_view kPeerKeys =
    "PublicKey, PresharedKey, Endpoint, AllowedIPs, PersistentKeepalive, Relay";

// wg-quick keys tern accepts but does not apply, and what to do instead.
struct NotApplied {
  std::string_view key;
  std::string_view advice;
};
constexpr NotApplied kNotApplied[] = {
    {"DNS", "set it in your resolver"},
    {"PreUp", "run the command from your service manager before `tern up`"},
    {"PostUp", "run the command from your service manager after `tern up`"},
    {"PreDown", "run the command from your service manager before stopping tern"},
    {"PostDown", "run the command from your service manager after stopping tern"},
    {"SaveConfig", "tern never writes the config file"},
};

// Keys of the other section, to say where a misplaced key belongs.
bool is_peer_key(std::string_view k) {
  for (auto name :
       {"PublicKey", "PresharedKey", "Endpoint", "AllowedIPs", "PersistentKeepalive", "Relay"}) {
    if (iequals(k, name)) return true;
  }
  return false;
}
bool is_interface_key(std::string_view k) {
  for (auto name : {"PrivateKey", "ListenPort", "Address", "MTU", "Table", "FwMark",
                    "PathMtuDiscovery", "MssClamp"}) {
    if (iequals(k, name)) return true;
  }
  for (const auto& n : kNotApplied) {
    if (iequals(k, n.key)) return true;
  }
  return false;
}

std::string shortened(std::string_view s) {
  return s.size() <= 40 ? std::string(s) : std::string(s.substr(0, 40)) + "...";
}

enum class Section { kNone, kInterface, kPeer, kControl, kRelay };

class Parser {
 public:
  explicit Parser(std::string_view file) : file_(file) {}

  Status line(int n, std::string_view text);
  Result<InterfaceConfig> finish();

 private:
  Status interface_key(int n, std::string_view key, std::string_view value);
  Status peer_key(int n, std::string_view key, std::string_view value);
  Status close_peer();
  tl::unexpected<Error> error(int n, const std::string& message) const {
    return fail(std::string(file_) + ":" + std::to_string(n) + ": " + message);
  }
  void warn(int n, const std::string& message) {
    cfg_.warnings.push_back("line " + std::to_string(n) + ": " + message);
  }
  // Warns when a single-valued key repeats; wg keeps the last value, and so do we.
  void note_single(std::map<std::string, int>& seen, int n, std::string_view key) {
    auto [it, fresh] = seen.emplace(std::string(key), n);
    if (!fresh) {
      warn(n, std::string(key) + " is set again (first on line " + std::to_string(it->second) +
                  "); the value on this line wins");
      it->second = n;
    }
  }

  std::string_view file_;
  InterfaceConfig cfg_;
  Section section_ = Section::kNone;
  int interface_line_ = 0;
  bool have_private_key_ = false;
  std::map<std::string, int> interface_seen_;
  std::map<std::string, int> peer_seen_;
  bool peer_has_key_ = false;
  std::map<crypto::Key, int> peer_lines_;     // public key -> [Peer] line
  std::map<IpPrefix, int> allowed_ip_owner_;  // masked prefix -> [Peer] line
};

Status Parser::line(int n, std::string_view text) {
  text = detail::trim(text.substr(0, text.find('#')));
  if (text.empty()) return {};
  if (text.front() == '[') {
    if (text.back() != ']') {
      return error(n, "a section header ends with ']'; write [Interface] or [Peer]");
    }
    std::string_view name = detail::trim(text.substr(1, text.size() - 2));
    if (section_ == Section::kPeer) {
      if (auto s = close_peer(); !s) return s;
    }
    if (iequals(name, "Interface")) {
      if (interface_line_ != 0) {
        warn(n, "a second [Interface] section; its keys add to the one on line " +
                    std::to_string(interface_line_));
      } else {
        interface_line_ = n;
      }
      section_ = Section::kInterface;
    } else if (iequals(name, "Control")) {
      if (cfg_.control) return error(n, "a second [Control] section; keep one");
      cfg_.control = ControlConfig{};
      cfg_.control->line = n;
      section_ = Section::kControl;
    } else if (iequals(name, "Relay")) {
      if (cfg_.relay) return error(n, "a second [Relay] section; keep one");
      cfg_.relay = RelayConfig{};
      cfg_.relay->line = n;
      section_ = Section::kRelay;
    } else if (iequals(name, "Peer")) {
      section_ = Section::kPeer;
      cfg_.peers.push_back(PeerConfig{});
      cfg_.peers.back().line = n;
      peer_has_key_ = false;
      peer_seen_.clear();
    } else {
      return error(n, "unknown section [" + shortened(name) +
                          "]; a config has [Interface], [Peer] and (tern's own) [Control] "
                          "sections and [Relay]");
    }
    return {};
  }
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || detail::trim(text.substr(0, eq)).empty()) {
    return error(n,
                 "this line is neither a [Section] header nor KEY = VALUE; fix it, or start it "
                 "with '#' to make it a comment");
  }
  std::string_view key = detail::trim(text.substr(0, eq));
  std::string_view value = detail::trim(text.substr(eq + 1));
  if (section_ == Section::kNone) {
    std::string where = is_peer_key(key) ? "[Peer]" : "[Interface]";
    return error(n, shortened(key) + " is outside any section; put it under " + where);
  }
  if (section_ == Section::kControl) {
    if (auto s = detail::control_key(*cfg_.control, key, value); !s) {
      return error(n, s.error().message);
    }
    return {};
  }
  if (section_ == Section::kRelay) {
    if (auto s = detail::relay_key(*cfg_.relay, key, value); !s) return error(n, s.error().message);
    return {};
  }
  return section_ == Section::kInterface ? interface_key(n, key, value) : peer_key(n, key, value);
}

Status Parser::interface_key(int n, std::string_view key, std::string_view value) {
  for (const auto& na : kNotApplied) {
    if (iequals(key, na.key)) {
      warn(n, std::string(na.key) + " is not applied by tern; " + std::string(na.advice));
      return {};
    }
  }
  bool known = false;
  for (auto name : {"PrivateKey", "ListenPort", "Address", "MTU", "Table", "FwMark",
                    "PathMtuDiscovery", "MssClamp"}) {
    if (iequals(key, name)) {
      key = name;  // canonical spelling for messages
      known = true;
    }
  }
  if (!known) {
    std::string hint =
        is_peer_key(key) ? " (" + shortened(key) + " belongs in a [Peer] section)" : "";
    return error(n, "unknown key '" + shortened(key) + "' in [Interface]" + hint +
                        "; the keys of [Interface] are " + std::string(kInterfaceKeys));
  }
  if (value.empty()) {
    return error(n, std::string(key) + " has no value; write " + std::string(key) +
                        " = VALUE, or remove the line");
  }
  if (key == "PrivateKey") {
    note_single(interface_seen_, n, key);
    auto k = detail::parse_key(key, value, "`wg genkey` prints a new one");
    if (!k) return error(n, k.error().message);
    cfg_.private_key = *k;
    have_private_key_ = true;
  } else if (key == "ListenPort") {
    note_single(interface_seen_, n, key);
    auto port = detail::parse_listen_port(value);
    if (!port) return error(n, port.error().message);
    cfg_.listen_port = *port;
  } else if (key == "MTU") {
    note_single(interface_seen_, n, key);
    auto mtu = detail::parse_mtu(value);
    if (!mtu) return error(n, mtu.error().message);
    cfg_.mtu = *mtu;
  } else if (key == "Table") {
    note_single(interface_seen_, n, key);
    auto table = detail::parse_table(value);
    if (!table) return error(n, table.error().message);
    cfg_.table = *table;
  } else if (key == "FwMark") {
    note_single(interface_seen_, n, key);
    auto mark = detail::parse_fwmark(value);
    if (!mark) return error(n, mark.error().message);
    cfg_.fwmark = *mark;
  } else if (key == "Address") {
    for (auto item : detail::split_list(value)) {
      auto p = detail::parse_prefix(key, item, "10.0.0.1/24 or fd00::1/64");
      if (!p) return error(n, p.error().message);
      cfg_.addresses.push_back(*p);
    }
  } else {
    note_single(interface_seen_, n, key);
    auto on = detail::parse_switch(key, value);
    if (!on) return error(n, on.error().message);
    (key == "PathMtuDiscovery" ? cfg_.path_mtu_discovery : cfg_.mss_clamp) = *on;
  }
  return {};
}

Status Parser::peer_key(int n, std::string_view key, std::string_view value) {
  bool known = false;
  for (auto name :
       {"PublicKey", "PresharedKey", "Endpoint", "AllowedIPs", "PersistentKeepalive", "Relay"}) {
    if (iequals(key, name)) {
      key = name;
      known = true;
    }
  }
  if (!known) {
    std::string hint =
        is_interface_key(key) ? " (" + shortened(key) + " belongs in the [Interface] section)" : "";
    return error(n, "unknown key '" + shortened(key) + "' in [Peer]" + hint +
                        "; the keys of [Peer] are " + std::string(kPeerKeys));
  }
  if (value.empty()) {
    return error(n, std::string(key) + " has no value; write " + std::string(key) +
                        " = VALUE, or remove the line");
  }
  PeerConfig& peer = cfg_.peers.back();
  if (key == "PublicKey") {
    if (peer_has_key_) {
      return error(n, "this [Peer] already has a PublicKey (line " +
                          std::to_string(peer_seen_["PublicKey"]) +
                          "); start a new [Peer] section for another peer");
    }
    auto k = detail::parse_key(key, value, "use the peer's `wg pubkey` output");
    if (!k) return error(n, k.error().message);
    auto [it, fresh] = peer_lines_.emplace(*k, peer.line);
    if (!fresh) {
      return error(n, "PublicKey " + crypto::key_to_base64(*k) +
                          " is already the key of the [Peer] on line " +
                          std::to_string(it->second) + "; merge the two [Peer] sections");
    }
    peer.public_key = *k;
    peer_has_key_ = true;
    peer_seen_["PublicKey"] = n;
  } else if (key == "PresharedKey") {
    note_single(peer_seen_, n, key);
    auto k = detail::parse_key(key, value, "`wg genpsk` prints a new one");
    if (!k) return error(n, k.error().message);
    peer.preshared_key = *k;
  } else if (key == "Endpoint") {
    note_single(peer_seen_, n, key);
    auto e = detail::parse_endpoint(value);
    if (!e) return error(n, e.error().message);
    peer.endpoint = *e;
  } else if (key == "PersistentKeepalive") {
    note_single(peer_seen_, n, key);
    auto k = detail::parse_keepalive(value);
    if (!k) return error(n, k.error().message);
    peer.persistent_keepalive = *k;
  } else if (key == "Relay") {
    note_single(peer_seen_, n, key);
    auto on = detail::parse_switch(key, value);
    if (!on) return error(n, on.error().message);
    peer.relay = *on;
  } else {  // AllowedIPs
    for (auto item : detail::split_list(value)) {
      auto p = detail::parse_prefix(key, item, "10.0.0.2/32");
      if (!p) return error(n, p.error().message);
      IpPrefix masked = p->masked();
      if (masked != *p) {
        warn(n,
             "AllowedIPs " + p->to_string() + " has host bits set; it means " + masked.to_string());
      }
      auto [it, fresh] = allowed_ip_owner_.emplace(masked, peer.line);
      if (!fresh && it->second != peer.line) {
        warn(n, "AllowedIPs " + masked.to_string() + " is also on the [Peer] of line " +
                    std::to_string(it->second) +
                    "; a prefix routes to one peer, and WireGuard gives it to the last one: "
                    "this one");
        it->second = peer.line;
      }
      auto& mine = peer.allowed_ips;
      if (std::find(mine.begin(), mine.end(), masked) == mine.end()) mine.push_back(masked);
    }
  }
  return {};
}

Status Parser::close_peer() {
  if (!peer_has_key_) {
    return error(cfg_.peers.back().line,
                 "this [Peer] has no PublicKey; add PublicKey = <the peer's `wg pubkey` output>");
  }
  return {};
}

Result<InterfaceConfig> Parser::finish() {
  if (section_ == Section::kPeer) {
    if (auto s = close_peer(); !s) return tl::unexpected(s.error());
  }
  if (interface_line_ == 0) {
    return error(1,
                 "there is no [Interface] section; a config starts with [Interface] and "
                 "PrivateKey = <output of `wg genkey`>");
  }
  if (cfg_.relay) {
    if (auto s = detail::check_relay(*cfg_.relay); !s)
      return error(cfg_.relay->line, s.error().message);
  }
  for (const auto& p : cfg_.peers) {
    if (p.relay && !cfg_.relay) {
      return error(p.line,
                   "this [Peer] has Relay = on but there is no [Relay] section; add [Relay] with "
                   "Url = turn:HOST:PORT and its credentials, or remove Relay");
    }
    if (p.relay && !p.endpoint) {
      return error(p.line,
                   "this [Peer] has Relay = on but no Endpoint; the relay sends to the peer's "
                   "Endpoint, so add one");
    }
  }
  if (cfg_.control) {
    if (!cfg_.peers.empty()) {
      return error(cfg_.peers.front().line,
                   "a config with [Control] gets its peers from the control server; remove the "
                   "[Peer] sections (or the [Control] section)");
    }
    if (cfg_.control->server.empty()) {
      return error(cfg_.control->line, "[Control] has no Server; add Server = https://HOST:PORT");
    }
    if (have_private_key_) {
      warn(interface_line_,
           "PrivateKey is not used with [Control]: the state directory keeps "
           "the key the control server knows");
    }
    return std::move(cfg_);
  }
  if (!have_private_key_) {
    return error(interface_line_,
                 "[Interface] has no PrivateKey; add PrivateKey = <output of `wg genkey`>");
  }
  // Peers with this interface's own key are skipped, as WireGuard does, so that
  // one file can list every machine of a mesh.
  const crypto::Key own = crypto::public_key_from_private(cfg_.private_key);
  std::erase_if(cfg_.peers, [&](const PeerConfig& p) {
    if (p.public_key != own) return false;
    warn(p.line, "this [Peer] has the interface's own public key; it is skipped");
    return true;
  });
  bool has_v6 = std::any_of(cfg_.addresses.begin(), cfg_.addresses.end(),
                            [](const IpPrefix& p) { return p.address.is_v6(); });
  if (has_v6 && cfg_.mtu && *cfg_.mtu < 1280) {
    warn(interface_seen_["MTU"],
         "IPv6 needs an MTU of at least 1280; with MTU = " + std::to_string(*cfg_.mtu) +
             " the IPv6 addresses will not work");
  }
  return std::move(cfg_);
}

}  // namespace

Result<InterfaceConfig> parse_config(std::string_view text, std::string_view file_name) {
  Parser parser(file_name);
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
  int n = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (auto s = parser.line(++n, line); !s) return tl::unexpected(s.error());
  }
  return parser.finish();
}

}  // namespace tern::config
