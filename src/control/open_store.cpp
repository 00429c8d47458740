#include "control/open_store.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "control/pg_store.hpp"
#include "control/sqlite_store.hpp"

namespace tern::control {

bool is_postgres_url(std::string_view url) {
  return url.starts_with("postgres://") || url.starts_with("postgresql://");
}

Result<std::unique_ptr<Store>> open_store(const StoreLocation& where, const StoreOptions& options) {
  if (!where.database_url.empty()) {
    if (is_postgres_url(where.database_url)) {
      // The data directory still holds this instance's own files (TLS), as with SQLite.
      if (!where.data_dir.empty() && ::mkdir(where.data_dir.c_str(), 0700) != 0 &&
          errno != EEXIST) {
        return fail("cannot create the data directory " + where.data_dir + ": " +
                    std::strerror(errno));
      }
      auto s = PgStore::open(where.database_url, options);
      if (!s) return tl::unexpected(s.error());
      return std::unique_ptr<Store>(std::move(*s));
    }
    return fail("--database must be a postgres:// or postgresql:// URL");
  }
  if (where.data_dir.empty()) return fail("--data DIR is required");
  auto s = SqliteStore::open(where.data_dir, options);
  if (!s) return tl::unexpected(s.error());
  return std::unique_ptr<Store>(std::move(*s));
}

}  // namespace tern::control
