// Opens tern control's store: SQLite in the data directory by default, or a shared
// PostgreSQL database when a URL is given (several `tern control` instances may use
// one database; each sees the others' changes through Store::revision()).
#pragma once

#include <memory>
#include <string>

#include "base/result.hpp"
#include "control/store.hpp"

namespace tern::control {

struct StoreLocation {
  std::string data_dir;      // SQLite: DIR/control.db
  std::string database_url;  // empty for SQLite; "postgres://..." or "postgresql://..."
};

// True for a URL this build opens as PostgreSQL (postgres:// or postgresql://).
bool is_postgres_url(std::string_view url);

[[nodiscard]] Result<std::unique_ptr<Store>> open_store(const StoreLocation& where,
                                                        const StoreOptions& options = {});

}  // namespace tern::control
