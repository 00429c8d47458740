#include "control/sqlite_store.hpp"

#include <gtest/gtest.h>

#include "store_fixture.hpp"
#include "temp_dir.hpp"

namespace tern::control {
namespace {

using testing::hello;
using testing::new_key;
using testing::TempDir;

std::unique_ptr<SqliteStore> open_store(const TempDir& dir) {
  auto s = SqliteStore::open(dir.str());
  EXPECT_TRUE(s) << s.error().message;
  return std::move(*s);
}

TEST(SqliteStore, OnlineBackupIsAWorkingDatabase) {
  TempDir dir, copy;
  auto store = open_store(dir);
  auto text = store->create_setup_key(new_key("", true, 0), 1, "admin")->second;
  ASSERT_TRUE(store->register_peer(text, hello(), 2));
  ASSERT_TRUE(store->backup_to(copy.str() + "/" + SqliteStore::kFileName));
  auto restored = open_store(copy);
  EXPECT_EQ(restored->list_peers()->size(), 1u);
  EXPECT_EQ(restored->plan().v6, store->plan().v6);
  EXPECT_EQ(restored->register_peer(text, hello(), 3)->peer->ipv4.to_string(), "100.64.0.2");
}

// The behaviour shared with PostgreSQL is tested on both in store_test.cpp; SQLite gives
// no change signal (one server per file): its loop polls revision().
TEST(SqliteStore, HasNoChangeSignal) {
  TempDir dir;
  auto store = open_store(dir);
  EXPECT_EQ(store->change_fd(), -1);
  ASSERT_TRUE(store->create_setup_key(new_key("", true, 0), 1, "admin"));
  EXPECT_FALSE(store->take_changes());
}

}  // namespace
}  // namespace tern::control
