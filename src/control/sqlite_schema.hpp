// The schema of tern control's SQLite store, as the migrations that build it: step N
// takes a database from schema_version N-1 to N (the schema_migrations table records
// which ran). The store applies the missing ones in a single transaction (sqlite_store.cpp).
#pragma once

#include <array>

namespace tern::control {

// Each step runs once, in order; a step is never edited after release, only added to.
inline constexpr std::array<const char*, 2> kSchemaMigrations = {
    R"sql(
CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE setup_keys (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  lookup TEXT NOT NULL UNIQUE,
  hash BLOB NOT NULL,
  reusable INTEGER NOT NULL,
  usage_limit INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0,
  expires_unix INTEGER,
  revoked INTEGER NOT NULL DEFAULT 0,
  tags TEXT NOT NULL,
  created_unix INTEGER NOT NULL);
CREATE TABLE peers (
  id INTEGER PRIMARY KEY,
  public_key BLOB NOT NULL UNIQUE CHECK (length(public_key) = 32),
  name TEXT NOT NULL,
  number INTEGER NOT NULL UNIQUE,
  ipv4 TEXT NOT NULL UNIQUE,
  ipv6 TEXT NOT NULL UNIQUE,
  endpoints TEXT NOT NULL DEFAULT '',
  tags TEXT NOT NULL,
  setup_key_id INTEGER NOT NULL,
  created_unix INTEGER NOT NULL,
  last_seen_unix INTEGER NOT NULL);
CREATE INDEX peers_last_seen ON peers (last_seen_unix);
CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  at_unix INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL);
INSERT INTO settings (name, value) VALUES ('revision', '0');
)sql",
    // 2: agents' stream tokens.
    R"sql(
ALTER TABLE peers ADD COLUMN token_lookup TEXT;
ALTER TABLE peers ADD COLUMN token_hash BLOB;
CREATE UNIQUE INDEX peers_token_lookup ON peers (token_lookup);
)sql",
};

}  // namespace tern::control
