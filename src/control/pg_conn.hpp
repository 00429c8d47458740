// One libpq connection for the PostgreSQL store: statements with text parameters
// ($1, $2, ...), results read as text, transactions, and LISTEN/NOTIFY. Bytes travel
// as bytea's hex text. Like SqliteDb, one object is one connection for one thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

struct pg_conn;
struct pg_result;

namespace tern::control {

// A statement parameter in text form; nullopt is SQL NULL.
using PgParam = std::optional<std::string>;

// bytea input: "\x" and two hex digits a byte.
[[nodiscard]] std::string pg_bytea(std::span<const uint8_t> bytes);
[[nodiscard]] inline std::string pg_int(int64_t v) {
  return std::to_string(v);
}

class PgResult {
 public:
  explicit PgResult(pg_result* r) : r_(r) {}
  PgResult(PgResult&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  PgResult& operator=(PgResult&& o) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult();

  int rows() const;
  // The command tag: "INSERT 0 1", "COMMIT", ...
  std::string command() const;
  // Rows an INSERT, UPDATE or DELETE touched.
  int64_t affected() const;
  bool is_null(int row, int col) const;
  std::string text(int row, int col) const;
  // 0 for NULL or text that is not a number (the store wrote it: never expected).
  int64_t int64(int row, int col) const;
  std::optional<int64_t> int64_or_null(int row, int col) const;
  bool boolean(int row, int col) const { return text(row, col) == "t"; }
  // bytea in hex output form; empty for NULL or anything else.
  std::vector<uint8_t> bytea(int row, int col) const;

 private:
  pg_result* r_;
};

class PgConn {
 public:
  // A libpq connection string or URL (postgres://user@host:port/db?sslmode=...).
  [[nodiscard]] static Result<PgConn> connect(const std::string& url);
  PgConn(PgConn&& o) noexcept;
  PgConn& operator=(PgConn&& o) noexcept;
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;
  ~PgConn();

  // One statement; parameters are $1, $2, ... A lost connection is reset once before a
  // statement outside a transaction.
  [[nodiscard]] Result<PgResult> exec(std::string_view sql,
                                      std::initializer_list<PgParam> params = {});
  // Several statements without parameters (migrations).
  [[nodiscard]] Status exec_script(const char* sql);

  // LISTEN on `channel` (kept across a reset).
  [[nodiscard]] Status listen(const std::string& channel);
  // The connection's socket: readable when the server sent something (a notification).
  // A new descriptor after a reconnect (-1 while disconnected).
  int socket() const;
  // Reads what arrived and drops the notifications; true when there was at least one,
  // including ones that arrived during earlier statements, and after a reconnect (changes
  // may have been missed). Reconnects a dropped connection.
  bool take_notifications();

  bool in_transaction() const { return in_tx_; }

 private:
  friend class PgTransaction;
  explicit PgConn(pg_conn* c) : c_(c) {}
  Status ensure_connected();
  void collect_notifications();

  pg_conn* c_ = nullptr;
  bool in_tx_ = false;
  bool notified_ = false;
  std::vector<std::string> channels_;
};

// BEGIN now; ROLLBACK unless commit() ran (also when a statement failed).
class PgTransaction {
 public:
  [[nodiscard]] static Result<PgTransaction> begin(PgConn& conn);
  PgTransaction(PgTransaction&& o) noexcept : conn_(o.conn_) { o.conn_ = nullptr; }
  PgTransaction& operator=(PgTransaction&&) = delete;
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;
  ~PgTransaction();
  [[nodiscard]] Status commit();

 private:
  explicit PgTransaction(PgConn& conn) : conn_(&conn) {}
  PgConn* conn_;
};

}  // namespace tern::control
