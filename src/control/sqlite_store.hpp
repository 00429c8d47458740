// The Store on SQLite: one file DIR/control.db in WAL mode with durable commits.
// The schema is versioned by a schema_migrations table; open() applies the missing
// steps in order, in one transaction each. Each SqliteStore is one connection: give
// each thread its own.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "control/sqlite_db.hpp"
#include "control/store.hpp"

namespace tern::control {

class SqliteStore final : public Store {
 public:
  static constexpr const char* kFileName = "control.db";

  // Opens DIR/control.db, creating the directory (0700) and the database as needed.
  [[nodiscard]] static Result<std::unique_ptr<SqliteStore>> open(const std::string& dir,
                                                                 const StoreOptions& options = {});
  // The latest schema version this build knows.
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

  // `tern control backup FILE`.
  [[nodiscard]] Status backup_to(const std::string& path) { return db_.backup_to(path); }

 private:
  explicit SqliteStore(SqliteDb db) : db_(std::move(db)) {}
  Status migrate();
  Status load_plan(const StoreOptions& options);
  Status bump_revision();
  Result<std::optional<SetupKeyRecord>> find_setup_key(std::string_view lookup);
  // A fresh stream token for peer `id`, stored hashed; returns its text.
  Result<std::string> issue_stream_token(int64_t id);

  SqliteDb db_;
  AddressPlan plan_;
};

}  // namespace tern::control
