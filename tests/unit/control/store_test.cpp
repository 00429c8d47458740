// The Store's behaviour, the same on SQLite and on PostgreSQL: every test runs on both
// (PostgreSQL on a server the test starts, pg_fixture.hpp; skipped when it cannot).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <thread>

#include "control/open_store.hpp"
#include "pg_fixture.hpp"
#include "store_fixture.hpp"
#include "temp_dir.hpp"

namespace tern::control {
namespace {

using testing::hello;
using testing::new_key;

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  bool postgres() const { return GetParam() == "postgres"; }

  void SetUp() override {
    if (postgres() && !testing::PgServer::get()) {
      GTEST_SKIP() << "PostgreSQL: " << testing::PgServer::skip_reason();
    }
    where_ = fresh();
    ASSERT_FALSE(where_.data_dir.empty() && where_.database_url.empty());
  }

  // A new, empty store location of this backend.
  StoreLocation fresh() {
    if (postgres()) {
      std::string error;
      StoreLocation l{"", testing::PgServer::get()->create_database(&error)};
      EXPECT_EQ(error, "");
      return l;
    }
    dirs_.push_back(std::make_unique<testing::TempDir>());
    return StoreLocation{dirs_.back()->str(), ""};
  }

  std::unique_ptr<Store> open() {
    auto s = open_store(where_);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  StoreLocation where_;
  std::vector<std::unique_ptr<testing::TempDir>> dirs_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& p) { return p.param; });

TEST_P(StoreTest, OneOffKeyAdmitsOneMachine) {
  auto store = open();
  EXPECT_EQ(store->plan().v4.to_string(), "100.64.0.0/10");
  EXPECT_EQ(store->plan().v6.length, 48);
  auto created =
      store->create_setup_key(new_key("laptop", false, 1, std::nullopt, {"dev"}), 1000, "admin");
  ASSERT_TRUE(created) << created.error().message;
  const std::string& text = created->second;
  EXPECT_TRUE(text.starts_with("tsk_"));

  auto h = hello();
  auto r = store->register_peer(text, h, 1001);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->verdict, KeyVerdict::kOk);
  EXPECT_TRUE(r->created);
  EXPECT_EQ(r->peer->ipv4.to_string(), "100.64.0.1");
  EXPECT_TRUE(store->plan().v6.contains(r->peer->ipv6));
  EXPECT_EQ(r->peer->tags, std::vector<std::string>{"dev"});

  // The same machine again (its answer was lost): same record, no new use.
  auto again = store->register_peer(text, h, 1002);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->verdict, KeyVerdict::kOk);
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->peer->ipv4, r->peer->ipv4);

  auto other = store->register_peer(text, hello(), 1003);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->verdict, KeyVerdict::kUsedUp);
  EXPECT_EQ(store->list_peers()->size(), 1u);
  EXPECT_EQ(store->list_setup_keys()->at(0).used, 1u);
}

TEST_P(StoreTest, StreamTokensIdentifyThePeerAndRotate) {
  auto store = open();
  auto text = store->create_setup_key(new_key("", true, 0), 1, "admin")->second;
  auto h = hello();
  auto r = store->register_peer(text, h, 2);
  ASSERT_TRUE(r && r->verdict == KeyVerdict::kOk);
  EXPECT_TRUE(r->stream_token.starts_with("tpt_"));
  auto found = store->find_peer_by_token(r->stream_token);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->public_key, h.public_key);
  std::string forged = r->stream_token;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(*store->find_peer_by_token(forged));
  EXPECT_FALSE(*store->find_peer_by_token("tpt_"));
  // Registering again issues a new token; the old one stops working.
  auto again = store->register_peer(text, h, 3);
  ASSERT_TRUE(again);
  EXPECT_NE(again->stream_token, r->stream_token);
  EXPECT_FALSE(*store->find_peer_by_token(r->stream_token));
  EXPECT_TRUE(*store->find_peer_by_token(again->stream_token));
}

TEST_P(StoreTest, WrongRevokedExpired) {
  auto store = open();
  auto k = store->create_setup_key(new_key("", true, 0), 1000, "admin");
  ASSERT_TRUE(k);
  std::string wrong = k->second;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';  // same lookup handle, different secret
  EXPECT_EQ(store->register_peer(wrong, hello(), 1001)->verdict, KeyVerdict::kWrong);
  EXPECT_EQ(store->register_peer("garbage", hello(), 1001)->verdict, KeyVerdict::kWrong);
  EXPECT_EQ(store->register_peer(k->second, hello(), 1001)->verdict, KeyVerdict::kOk);
  ASSERT_TRUE(*store->revoke_setup_key(k->first.id, 1002, "admin"));
  EXPECT_FALSE(*store->revoke_setup_key(999, 1002, "admin"));
  EXPECT_EQ(store->register_peer(k->second, hello(), 1003)->verdict, KeyVerdict::kRevoked);

  auto e = store->create_setup_key(new_key("", true, 5, 2000), 1000, "admin");
  EXPECT_EQ(store->register_peer(e->second, hello(), 1999)->verdict, KeyVerdict::kOk);
  EXPECT_EQ(store->register_peer(e->second, hello(), 2000)->verdict, KeyVerdict::kExpired);
}

TEST_P(StoreTest, StatePersistsAndThePlanIsFixed) {
  std::string text;
  IpPrefix v6;
  {
    auto store = open();
    text = store->create_setup_key(new_key("", true, 0), 1, "admin")->second;
    ASSERT_EQ(store->register_peer(text, hello(), 2)->verdict, KeyVerdict::kOk);
    v6 = store->plan().v6;
  }
  auto store = open();
  EXPECT_EQ(store->plan().v6, v6);
  auto r = store->register_peer(text, hello(), 3);
  EXPECT_EQ(r->peer->ipv4.to_string(), "100.64.0.2");
  EXPECT_EQ(store->list_peers()->size(), 2u);

  StoreOptions other;
  other.v4_pool = IpPrefix::parse("10.99.0.0/16");
  EXPECT_FALSE(open_store(where_, other));

  auto custom = open_store(fresh(), other);
  ASSERT_TRUE(custom);
  auto k = (*custom)->create_setup_key({}, 1, "admin");
  EXPECT_EQ((*custom)->register_peer(k->second, hello(), 2)->peer->ipv4.to_string(), "10.99.0.1");
}

TEST_P(StoreTest, RemovedAddressesAreNotReusedSoon) {
  auto store = open();
  auto text = store->create_setup_key(new_key("", true, 0), 1, "admin")->second;
  auto a = store->register_peer(text, hello(), 2);
  auto b = store->register_peer(text, hello(), 2);
  const int64_t rev = *store->revision();
  ASSERT_TRUE(*store->remove_peer(b->peer->id, 3, "admin"));
  EXPECT_GT(*store->revision(), rev);
  EXPECT_FALSE(*store->remove_peer(b->peer->id, 3, "admin"));
  auto c = store->register_peer(text, hello(), 4);
  EXPECT_EQ(c->peer->ipv4.to_string(), "100.64.0.2");  // number 2 is free again but max was 1
  EXPECT_EQ(a->peer->ipv4.to_string(), "100.64.0.1");
}

TEST_P(StoreTest, TouchAndExpiry) {
  auto store = open();
  auto text = store->create_setup_key(new_key("", true, 0), 1, "admin")->second;
  auto a = store->register_peer(text, hello(), 100);
  auto b = store->register_peer(text, hello(), 100);
  const int64_t rev = *store->revision();
  ASSERT_TRUE(store->touch_peer(a->peer->public_key, {*Endpoint::parse("192.0.2.1:51820")}, 500));
  EXPECT_GT(*store->revision(), rev);  // new endpoints change the others' maps
  const int64_t rev2 = *store->revision();
  ASSERT_TRUE(store->touch_peer(a->peer->public_key, {*Endpoint::parse("192.0.2.1:51820")}, 550));
  EXPECT_EQ(*store->revision(), rev2);  // only last seen moved
  auto found = store->find_peer(a->peer->public_key);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->last_seen_unix, 550);
  ASSERT_EQ((*found)->endpoints.size(), 1u);
  EXPECT_EQ((*found)->endpoints[0].to_string(), "192.0.2.1:51820");

  auto gone = store->expire_peers(600, 300);  // b unseen since 100
  ASSERT_TRUE(gone);
  ASSERT_EQ(gone->size(), 1u);
  EXPECT_EQ(gone->at(0).public_key, b->peer->public_key);
  EXPECT_EQ(store->list_peers()->size(), 1u);
  auto audit = store->list_audit(10);
  ASSERT_TRUE(audit);
  EXPECT_EQ(audit->at(0).action, "peer.expire");
  EXPECT_EQ(audit->at(0).actor, "server");
}

TEST_P(StoreTest, AuditLogsAdminActionsAndRegistrations) {
  auto store = open();
  auto k = store->create_setup_key(new_key("ci", false, 1), 1, "admin");
  ASSERT_TRUE(store->register_peer(k->second, hello(), 2));
  ASSERT_TRUE(store->revoke_setup_key(k->first.id, 3, "local"));
  auto audit = store->list_audit(10);
  ASSERT_TRUE(audit);
  ASSERT_EQ(audit->size(), 3u);
  EXPECT_EQ(audit->at(2).action, "key.create");
  EXPECT_EQ(audit->at(1).action, "peer.register");
  EXPECT_EQ(audit->at(0).action, "key.revoke");
  EXPECT_EQ(audit->at(0).actor, "local");
  // The key's text is never logged.
  for (const auto& e : *audit)
    EXPECT_EQ(e.detail.find(k->second), std::string::npos);
}

TEST_P(StoreTest, FiftyConcurrentRegistrationsGetFiftyAddresses) {
  std::string text;
  {
    auto store = open();
    text = store->create_setup_key(new_key("", true, 50), 1, "admin")->second;
  }
  constexpr int kMachines = 50;
  std::vector<std::string> v4(kMachines), v6(kMachines);
  std::vector<std::string> errors(kMachines);
  std::vector<std::thread> threads;
  for (int i = 0; i < kMachines; ++i) {
    threads.emplace_back([&, i] {
      auto store = open_store(where_);  // a connection per thread, as per process
      if (!store) {
        errors[static_cast<size_t>(i)] = store.error().message;
        return;
      }
      auto r = (*store)->register_peer(text, hello(), 2);
      if (!r) {
        errors[static_cast<size_t>(i)] = r.error().message;
      } else if (r->verdict != KeyVerdict::kOk) {
        errors[static_cast<size_t>(i)] = std::string(verdict_name(r->verdict));
      } else {
        v4[static_cast<size_t>(i)] = r->peer->ipv4.to_string();
        v6[static_cast<size_t>(i)] = r->peer->ipv6.to_string();
      }
    });
  }
  for (auto& t : threads)
    t.join();
  for (const auto& e : errors)
    EXPECT_EQ(e, "");
  EXPECT_EQ(std::set<std::string>(v4.begin(), v4.end()).size(), size_t{kMachines});
  EXPECT_EQ(std::set<std::string>(v6.begin(), v6.end()).size(), size_t{kMachines});
  auto store = open();
  EXPECT_EQ(store->list_peers()->size(), size_t{kMachines});
  EXPECT_EQ(store->list_setup_keys()->at(0).used, uint32_t{kMachines});
  // The limit holds under the race too.
  EXPECT_EQ(store->register_peer(text, hello(), 3)->verdict, KeyVerdict::kUsedUp);
}

TEST_P(StoreTest, InsertSettingSetsOnceEvenUnderARace) {
  auto store = open();
  EXPECT_TRUE(*store->insert_setting("x", "1"));
  EXPECT_FALSE(*store->insert_setting("x", "2"));
  EXPECT_EQ(*store->setting("x").value(), "1");

  constexpr int kInstances = 8;
  std::vector<int> won(kInstances, -1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kInstances; ++i) {
    threads.emplace_back([&, i] {
      auto s = open_store(where_);
      if (!s) return;
      auto r = (*s)->insert_setting("token", std::to_string(i));
      if (r) won[static_cast<size_t>(i)] = *r ? 1 : 0;
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(std::count(won.begin(), won.end(), 1), 1);
  EXPECT_EQ(std::count(won.begin(), won.end(), 0), kInstances - 1);
  const std::string winner = *store->setting("token").value();
  EXPECT_EQ(won[static_cast<size_t>(std::stoi(winner))], 1);
}

}  // namespace
}  // namespace tern::control
