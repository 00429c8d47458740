#include "control/pg_conn.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <vector>

namespace tern::control {
namespace {

constexpr char kHex[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string conn_error(pg_conn* c) {
  std::string m = c ? PQerrorMessage(c) : "out of memory";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' '))
    m.pop_back();
  return m;
}

// The server's NOTICEs (such as "relation already exists, skipping") are not errors.
void quiet_notices(void*, const char*) {}

}  // namespace

std::string pg_bytea(std::span<const uint8_t> bytes) {
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

PgResult& PgResult::operator=(PgResult&& o) noexcept {
  if (this != &o) {
    if (r_) PQclear(r_);
    r_ = o.r_;
    o.r_ = nullptr;
  }
  return *this;
}

PgResult::~PgResult() {
  if (r_) PQclear(r_);
}

std::string PgResult::command() const {
  return r_ ? PQcmdStatus(r_) : "";
}

int PgResult::rows() const {
  return r_ ? PQntuples(r_) : 0;
}

int64_t PgResult::affected() const {
  if (!r_) return 0;
  const std::string_view n = PQcmdTuples(r_);
  int64_t v = 0;
  std::from_chars(n.data(), n.data() + n.size(), v);
  return v;
}

bool PgResult::is_null(int row, int col) const {
  return !r_ || row >= rows() || col >= PQnfields(r_) || PQgetisnull(r_, row, col);
}

std::string PgResult::text(int row, int col) const {
  if (is_null(row, col)) return {};
  return std::string(PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col)));
}

int64_t PgResult::int64(int row, int col) const {
  return int64_or_null(row, col).value_or(0);
}

std::optional<int64_t> PgResult::int64_or_null(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  const char* v = PQgetvalue(r_, row, col);
  const char* end = v + PQgetlength(r_, row, col);
  int64_t out = 0;
  if (std::from_chars(v, end, out).ec != std::errc()) return 0;
  return out;
}

std::vector<uint8_t> PgResult::bytea(int row, int col) const {
  if (is_null(row, col)) return {};
  const std::string_view t(PQgetvalue(r_, row, col),
                           static_cast<size_t>(PQgetlength(r_, row, col)));
  if (!t.starts_with("\\x") || t.size() % 2 != 0) return {};
  std::vector<uint8_t> out;
  out.reserve((t.size() - 2) / 2);
  for (size_t i = 2; i < t.size(); i += 2) {
    const int hi = hex_value(t[i]), lo = hex_value(t[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

Result<PgConn> PgConn::connect(const std::string& url) {
  pg_conn* c = PQconnectdb(url.c_str());
  if (!c || PQstatus(c) != CONNECTION_OK) {
    std::string m = conn_error(c);
    if (c) PQfinish(c);
    return fail("cannot connect to PostgreSQL: " + m);
  }
  PQsetNoticeProcessor(c, quiet_notices, nullptr);
  return PgConn(c);
}

PgConn::PgConn(PgConn&& o) noexcept
    : c_(o.c_), in_tx_(o.in_tx_), notified_(o.notified_), channels_(std::move(o.channels_)) {
  o.c_ = nullptr;
}

PgConn& PgConn::operator=(PgConn&& o) noexcept {
  if (this != &o) {
    if (c_) PQfinish(c_);
    c_ = o.c_;
    in_tx_ = o.in_tx_;
    notified_ = o.notified_;
    channels_ = std::move(o.channels_);
    o.c_ = nullptr;
  }
  return *this;
}

PgConn::~PgConn() {
  if (c_) PQfinish(c_);
}

Status PgConn::ensure_connected() {
  if (!c_) return fail("no PostgreSQL connection");
  if (PQstatus(c_) == CONNECTION_OK) return {};
  // Inside a transaction a fresh connection would run the rest outside it: fail instead.
  if (in_tx_) return fail("lost the PostgreSQL connection: " + conn_error(c_));
  PQreset(c_);
  if (PQstatus(c_) != CONNECTION_OK) {
    return fail("lost the PostgreSQL connection: " + conn_error(c_));
  }
  PQsetNoticeProcessor(c_, quiet_notices, nullptr);
  for (const auto& ch : channels_) {
    auto r = exec("LISTEN " + ch);
    if (!r) return tl::unexpected(r.error());
  }
  notified_ = true;  // changes may have been missed while the connection was down
  return {};
}

Result<PgResult> PgConn::exec(std::string_view sql, std::initializer_list<PgParam> params) {
  if (auto st = ensure_connected(); !st) return tl::unexpected(st.error());
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params)
    values.push_back(p ? p->c_str() : nullptr);
  const std::string statement(sql);
  pg_result* raw = PQexecParams(c_, statement.c_str(), static_cast<int>(values.size()), nullptr,
                                values.data(), nullptr, nullptr, 0);
  collect_notifications();
  const ExecStatusType s = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
    std::string m = raw ? PQresultErrorMessage(raw) : "";
    if (m.empty()) m = conn_error(c_);
    while (!m.empty() && (m.back() == '\n' || m.back() == ' '))
      m.pop_back();
    if (raw) PQclear(raw);
    return fail("PostgreSQL: " + m);
  }
  return PgResult(raw);
}

Status PgConn::exec_script(const char* sql) {
  if (auto st = ensure_connected(); !st) return st;
  pg_result* r = PQexec(c_, sql);
  collect_notifications();
  const ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  std::string m = (r && s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) ? PQresultErrorMessage(r)
                                                                       : (r ? "" : conn_error(c_));
  if (r) PQclear(r);
  if (!m.empty() || !r) return fail("PostgreSQL: " + m);
  return {};
}

Status PgConn::listen(const std::string& channel) {
  auto r = exec("LISTEN " + channel);
  if (!r) return tl::unexpected(r.error());
  channels_.push_back(channel);
  return {};
}

int PgConn::socket() const {
  return c_ ? PQsocket(c_) : -1;
}

void PgConn::collect_notifications() {
  while (pgNotify* n = PQnotifies(c_)) {
    notified_ = true;
    PQfreemem(n);
  }
}

bool PgConn::take_notifications() {
  if (!c_) return false;
  if (!in_tx_) {
    // A dropped connection is reopened here too, so socket() is a live descriptor again.
    if (PQstatus(c_) == CONNECTION_OK) PQconsumeInput(c_);
    if (PQstatus(c_) != CONNECTION_OK) (void)ensure_connected();
  }
  collect_notifications();
  const bool any = notified_;
  notified_ = false;
  return any;
}

Result<PgTransaction> PgTransaction::begin(PgConn& conn) {
  if (conn.in_tx_) return fail("a PostgreSQL transaction is already open");
  auto r = conn.exec("BEGIN");
  if (!r) return tl::unexpected(r.error());
  conn.in_tx_ = true;
  return PgTransaction(conn);
}

PgTransaction::~PgTransaction() {
  if (!conn_) return;
  (void)conn_->exec("ROLLBACK");
  conn_->in_tx_ = false;
}

Status PgTransaction::commit() {
  PgConn* c = conn_;
  conn_ = nullptr;
  auto r = c->exec("COMMIT");
  c->in_tx_ = false;
  if (!r) return tl::unexpected(r.error());
  // A COMMIT of a failed transaction answers "ROLLBACK".
  if (r->command() == "ROLLBACK") return fail("PostgreSQL rolled the transaction back");
  return {};
}

}  // namespace tern::control
