// The control server's state behind one interface: setup keys, peers, the audit log
// and a few settings. SQLite (sqlite_store.hpp) and PostgreSQL (pg_store.hpp)
// implement it; open_store.hpp picks one. Times are Unix seconds passed in by the
// caller: the store never reads a clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ip.hpp"
#include "base/result.hpp"
#include "control/address_pool.hpp"
#include "control/setup_key.hpp"
#include "crypto/key.hpp"

namespace tern::control {

// How a store is opened (the same for every kind).
struct StoreOptions {
  // Used when the database is created; afterwards the stored plan wins (addresses given
  // out must stay valid), and a different value here is an error.
  std::optional<IpPrefix> v4_pool;
};

struct NewSetupKey {
  std::string name;
  bool reusable = false;
  uint32_t usage_limit = 1;  // reusable keys: 0 for no limit
  std::optional<int64_t> expires_unix;
  std::vector<std::string> tags;
};

struct PeerRecord {
  int64_t id = 0;
  crypto::Key public_key{};
  std::string name;
  uint32_t number = 0;  // the address index (address_pool.hpp)
  IpAddress ipv4;
  IpAddress ipv6;
  std::vector<Endpoint> endpoints;  // as the agent reported them
  std::vector<std::string> tags;
  int64_t setup_key_id = 0;
  int64_t created_unix = 0;
  int64_t last_seen_unix = 0;
};

struct AuditEntry {
  int64_t id = 0;
  int64_t at_unix = 0;
  std::string actor;   // "admin", "local", "peer:<key>", "server"
  std::string action;  // "key.create", "peer.register", ...
  std::string detail;
};

struct Registration {
  KeyVerdict verdict = KeyVerdict::kWrong;  // kOk: `peer` is set
  std::optional<PeerRecord> peer;
  bool created = false;  // false when the public key was already registered
  // The agent's credential for its map stream ("tpt_..."), new at every registration (an
  // older one stops working); the store keeps its hash.
  std::string stream_token;
};

struct PeerHello {
  crypto::Key public_key{};
  std::string name;
  std::vector<Endpoint> endpoints;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual const AddressPlan& plan() const = 0;

  // Returns the record and the key's text, which exists only here: the store keeps a hash.
  [[nodiscard]] virtual Result<std::pair<SetupKeyRecord, std::string>> create_setup_key(
      const NewSetupKey& key, int64_t now_unix, std::string_view actor) = 0;
  [[nodiscard]] virtual Result<std::vector<SetupKeyRecord>> list_setup_keys() = 0;
  // false when no such key.
  [[nodiscard]] virtual Result<bool> revoke_setup_key(int64_t id, int64_t now_unix,
                                                      std::string_view actor) = 0;

  // One transaction: checks the key, counts its use, gives the peer the next address.
  // A public key already registered gets its record back without using the key again.
  [[nodiscard]] virtual Result<Registration> register_peer(std::string_view setup_key,
                                                           const PeerHello& hello,
                                                           int64_t now_unix) = 0;
  [[nodiscard]] virtual Result<std::vector<PeerRecord>> list_peers() = 0;
  [[nodiscard]] virtual Result<std::optional<PeerRecord>> find_peer(const crypto::Key& key) = 0;
  // The peer whose stream token this is (compared in constant time), nullopt for none.
  [[nodiscard]] virtual Result<std::optional<PeerRecord>> find_peer_by_token(
      std::string_view stream_token) = 0;
  [[nodiscard]] virtual Result<bool> remove_peer(int64_t id, int64_t now_unix,
                                                 std::string_view actor) = 0;
  // The agent was heard from: last seen and the endpoints it reports.
  [[nodiscard]] virtual Status touch_peer(const crypto::Key& key,
                                          const std::vector<Endpoint>& endpoints,
                                          int64_t now_unix) = 0;
  // Removes peers not seen for `max_unseen_s` seconds; returns them.
  [[nodiscard]] virtual Result<std::vector<PeerRecord>> expire_peers(int64_t now_unix,
                                                                     int64_t max_unseen_s) = 0;

  [[nodiscard]] virtual Status audit(int64_t now_unix, std::string_view actor,
                                     std::string_view action, std::string_view detail) = 0;
  // The newest `limit` entries, newest first.
  [[nodiscard]] virtual Result<std::vector<AuditEntry>> list_audit(size_t limit) = 0;

  [[nodiscard]] virtual Result<std::optional<std::string>> setting(std::string_view name) = 0;
  [[nodiscard]] virtual Status set_setting(std::string_view name, std::string_view value) = 0;
  // Sets `name` only if it has no value yet, atomically: of instances racing on a shared
  // database exactly one gets true (the admin token is made once).
  [[nodiscard]] virtual Result<bool> insert_setting(std::string_view name,
                                                    std::string_view value) = 0;

  // Bumped by every change to peers: agents' maps are rebuilt when it moves.
  [[nodiscard]] virtual Result<int64_t> revision() = 0;

  // A descriptor that turns readable when a change may have been made through another
  // connection (another `tern control` on a shared database); -1 when the store gives no
  // such signal (SQLite). Either way polling revision() stays correct; this only makes
  // the reaction immediate. Call take_changes() when it is readable, then read change_fd()
  // again: it is another descriptor after the store reconnected.
  virtual int change_fd() const { return -1; }
  // Consumes what made change_fd() readable; true when a change was announced since the
  // last call (including during this connection's own statements).
  [[nodiscard]] virtual bool take_changes() { return false; }
};

}  // namespace tern::control
