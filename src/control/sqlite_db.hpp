// A thin RAII layer over the SQLite C API: a connection, prepared statements with
// typed binds and columns, and a transaction guard that rolls back unless committed.
// Errors come back as Result with SQLite's own message.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "base/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace tern::control {

class SqliteDb;

class Statement {
 public:
  Statement(Statement&& o) noexcept : db_(o.db_), stmt_(std::exchange(o.stmt_, nullptr)) {}
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  Statement& bind(int index, int64_t v);
  Statement& bind(int index, std::string_view v);
  Statement& bind_blob(int index, std::span<const uint8_t> v);
  Statement& bind_null(int index);
  Statement& bind(int index, const std::optional<int64_t>& v) {
    return v ? bind(index, *v) : bind_null(index);
  }

  // true: a row is ready; false: done.
  [[nodiscard]] Result<bool> step();
  // Runs to completion, ignoring rows.
  [[nodiscard]] Status run();

  int64_t int64(int column) const;
  std::optional<int64_t> int64_or_null(int column) const;
  std::string text(int column) const;
  std::span<const uint8_t> blob(int column) const;

 private:
  friend class SqliteDb;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool bind_failed_ = false;
};

class SqliteDb {
 public:
  // Opens (creating) the file in WAL mode with synchronous=FULL, foreign keys on and a
  // busy timeout, so concurrent writers wait instead of failing.
  [[nodiscard]] static Result<SqliteDb> open(const std::string& path);
  SqliteDb(SqliteDb&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  SqliteDb& operator=(SqliteDb&&) = delete;
  SqliteDb(const SqliteDb&) = delete;
  ~SqliteDb();

  [[nodiscard]] Result<Statement> prepare(std::string_view sql);
  [[nodiscard]] Status exec(const char* sql);
  int64_t last_insert_id() const;
  int changes() const;
  // Copies the whole database to `path` with SQLite's online backup API: a consistent
  // snapshot while other connections keep writing.
  [[nodiscard]] Status backup_to(const std::string& path);

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// BEGIN IMMEDIATE: takes the write lock at once, so two registrations never both read
// the same "next address" and the loser waits (busy timeout) rather than failing.
class Transaction {
 public:
  [[nodiscard]] static Result<Transaction> begin(SqliteDb& db);
  Transaction(Transaction&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  [[nodiscard]] Status commit();

 private:
  explicit Transaction(SqliteDb& db) : db_(&db) {}
  SqliteDb* db_;
};

}  // namespace tern::control
