// The Store on PostgreSQL, for several `tern control` instances sharing one database.
// Same schema (pg_schema.hpp) and behaviour as SqliteStore. Registrations serialise on
// a transaction-scoped advisory lock, so racing instances never hand out one address
// twice; every change to peers or keys NOTIFYs kChannel, which each store LISTENs on,
// so a server loop wakes on change_fd() at once (polling revision() stays correct).
// Each PgStore is one connection: give each thread its own.
#pragma once

#include <memory>
#include <string>

#include "control/pg_conn.hpp"
#include "control/store.hpp"

namespace tern::control {

class PgStore final : public Store {
 public:
  static constexpr const char* kChannel = "tern_control";

  // `url`: postgres://user:password@host:port/db?sslmode=... or any libpq connection string.
  [[nodiscard]] static Result<std::unique_ptr<PgStore>> open(const std::string& url,
                                                             const StoreOptions& options = {});
  static int schema_version();

  const AddressPlan& plan() const override { return plan_; }
  Result<std::pair<SetupKeyRecord, std::string>> create_setup_key(const NewSetupKey& key,
                                                                  int64_t now_unix,
                                                                  std::string_view actor) override;
  Result<std::vector<SetupKeyRecord>> list_setup_keys() override;
  Result<bool> revoke_setup_key(int64_t id, int64_t now_unix, std::string_view actor) override;
  Result<Registration> register_peer(std::string_view setup_key, const PeerHello& hello,
                                     int64_t now_unix) override;
  Result<std::vector<PeerRecord>> list_peers() override;
  Result<std::optional<PeerRecord>> find_peer(const crypto::Key& key) override;
  Result<std::optional<PeerRecord>> find_peer_by_token(std::string_view stream_token) override;
  Result<bool> remove_peer(int64_t id, int64_t now_unix, std::string_view actor) override;
  Status touch_peer(const crypto::Key& key, const std::vector<Endpoint>& endpoints,
                    int64_t now_unix) override;
  Result<std::vector<PeerRecord>> expire_peers(int64_t now_unix, int64_t max_unseen_s) override;
  Status audit(int64_t now_unix, std::string_view actor, std::string_view action,
               std::string_view detail) override;
  Result<std::vector<AuditEntry>> list_audit(size_t limit) override;
  Result<std::optional<std::string>> setting(std::string_view name) override;
  Status set_setting(std::string_view name, std::string_view value) override;
  Result<bool> insert_setting(std::string_view name, std::string_view value) override;
  Result<int64_t> revision() override;

  int change_fd() const override { return conn_.socket(); }
  bool take_changes() override { return conn_.take_notifications(); }

 private:
  explicit PgStore(PgConn conn) : conn_(std::move(conn)) {}
  Status migrate_and_load_plan(const StoreOptions& options);
  Status load_plan(const StoreOptions& options);
  Status bump_revision();
  Status notify(std::string_view what);
  Result<std::optional<SetupKeyRecord>> find_setup_key(std::string_view lookup);
  Result<std::string> issue_stream_token(int64_t id);

  PgConn conn_;
  AddressPlan plan_;
};

}  // namespace tern::control
