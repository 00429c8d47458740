// What only the PostgreSQL store does: several connections (instances) on one database,
// NOTIFY on changes, concurrent first opens. Shared behaviour is in store_test.cpp.
#include "control/pg_store.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <set>
#include <thread>

#include "crypto/x25519.hpp"
#include "pg_fixture.hpp"

namespace tern::control {
namespace {

using testing::PgServer;

PeerHello hello() {
  PeerHello h;
  h.public_key = crypto::public_key_from_private(crypto::generate_private_key());
  h.name = "host";
  return h;
}

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PgServer::get()) GTEST_SKIP() << "PostgreSQL: " << PgServer::skip_reason();
    std::string error;
    url_ = PgServer::get()->create_database(&error);
    ASSERT_EQ(error, "");
  }
  std::unique_ptr<PgStore> open() {
    auto s = PgStore::open(url_);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }
  std::string url_;
};

bool readable_within(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) == 1;
}

TEST_F(PgStoreTest, AChangeThroughOneInstanceWakesAnother) {
  auto one = open();
  auto two = open();
  ASSERT_TRUE(one && two);
  ASSERT_GE(two->change_fd(), 0);
  (void)two->take_changes();
  EXPECT_FALSE(readable_within(two->change_fd(), 50));
  EXPECT_FALSE(two->take_changes());

  auto key = one->create_setup_key({"", true, 0, std::nullopt, {}}, 1, "admin");
  ASSERT_TRUE(key);
  ASSERT_TRUE(readable_within(two->change_fd(), 2000));
  EXPECT_TRUE(two->take_changes());
  EXPECT_FALSE(two->take_changes());  // consumed

  auto r = one->register_peer(key->second, hello(), 2);
  ASSERT_TRUE(r && r->verdict == KeyVerdict::kOk);
  ASSERT_TRUE(readable_within(two->change_fd(), 2000));
  EXPECT_TRUE(two->take_changes());
  EXPECT_EQ(*two->revision(), *one->revision());
  ASSERT_TRUE(two->remove_peer(r->peer->id, 3, "admin").value());
  ASSERT_TRUE(readable_within(one->change_fd(), 2000));
  EXPECT_TRUE(one->take_changes());
  EXPECT_TRUE(one->list_peers()->empty());
}

TEST_F(PgStoreTest, ANotificationDuringOwnStatementsIsNotLost) {
  auto one = open();
  auto two = open();
  ASSERT_TRUE(one && two);
  (void)two->take_changes();
  ASSERT_TRUE(one->create_setup_key({}, 1, "admin"));
  // two reads the notification off the socket while it runs a statement of its own.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(two->list_peers());
  EXPECT_TRUE(two->take_changes());
}

TEST_F(PgStoreTest, InstancesStartingTogetherAgreeOnThePlan) {
  constexpr int kInstances = 8;
  std::vector<std::string> plans(kInstances);
  std::vector<std::thread> threads;
  for (int i = 0; i < kInstances; ++i) {
    threads.emplace_back([&, i] {
      auto s = PgStore::open(url_);
      plans[static_cast<size_t>(i)] =
          s ? (*s)->plan().v4.to_string() + " " + (*s)->plan().v6.to_string() : s.error().message;
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(std::set<std::string>(plans.begin(), plans.end()).size(), 1u) << plans[0];
  auto store = open();
  EXPECT_EQ(plans[0], store->plan().v4.to_string() + " " + store->plan().v6.to_string());
}

TEST_F(PgStoreTest, RacingInstancesWithTwoKeysGetDistinctAddresses) {
  auto admin = open();
  const std::string a =
      admin->create_setup_key({"a", true, 0, std::nullopt, {}}, 1, "admin")->second;
  const std::string b =
      admin->create_setup_key({"b", true, 0, std::nullopt, {}}, 1, "admin")->second;
  constexpr int kMachines = 20;
  std::vector<std::string> v4(kMachines);
  std::vector<std::thread> threads;
  for (int i = 0; i < kMachines; ++i) {
    threads.emplace_back([&, i] {
      auto s = PgStore::open(url_);
      if (!s) return;
      auto r = (*s)->register_peer(i % 2 ? a : b, hello(), 2);
      if (r && r->peer) v4[static_cast<size_t>(i)] = r->peer->ipv4.to_string();
    });
  }
  for (auto& t : threads)
    t.join();
  std::set<std::string> distinct(v4.begin(), v4.end());
  distinct.erase("");
  EXPECT_EQ(distinct.size(), size_t{kMachines});
  EXPECT_EQ(*admin->revision(), int64_t{kMachines});
}

TEST_F(PgStoreTest, ANewerSchemaIsRefused) {
  ASSERT_TRUE(open());
  auto conn = PgConn::connect(url_);
  ASSERT_TRUE(conn);
  ASSERT_TRUE(conn->exec("INSERT INTO schema_migrations (version) VALUES ($1)",
                         {pg_int(PgStore::schema_version() + 1)}));
  auto s = PgStore::open(url_);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("newer"), std::string::npos);
}

TEST_F(PgStoreTest, ADroppedConnectionIsReopenedAndListensAgain) {
  auto store = open();
  ASSERT_TRUE(store);
  (void)store->take_changes();
  {
    auto admin = PgConn::connect(url_);
    ASSERT_TRUE(admin);
    ASSERT_TRUE(
        admin->exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"));
  }
  // The store learns of the end at its next read; the statement after that runs on a new
  // connection, and a change is reported because some may have been missed meanwhile.
  bool listed = false;
  for (int i = 0; i < 3 && !listed; ++i) {
    (void)store->take_changes();
    listed = store->list_peers().has_value();
  }
  EXPECT_TRUE(listed);
  EXPECT_GE(store->change_fd(), 0);
  (void)store->take_changes();
  auto other = open();
  ASSERT_TRUE(other->create_setup_key({}, 1, "admin"));
  EXPECT_TRUE(readable_within(store->change_fd(), 2000));
  EXPECT_TRUE(store->take_changes());
}

TEST(PgStore, AnUnreachableServerIsAnError) {
  auto s = PgStore::open("postgresql:///x?host=/nonexistent-tern-dir&port=1&connect_timeout=2");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("PostgreSQL"), std::string::npos);
}

}  // namespace
}  // namespace tern::control
