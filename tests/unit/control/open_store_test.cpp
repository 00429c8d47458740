#include "control/open_store.hpp"

#include <gtest/gtest.h>

#include "pg_fixture.hpp"
#include "temp_dir.hpp"

namespace tern::control {
namespace {

TEST(OpenStore, EmptyUrlOpensSqliteInTheDataDirectory) {
  testing::TempDir dir;
  auto s = open_store({dir.str(), ""});
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_TRUE((*s)->set_setting("x", "1"));
  s->reset();
  auto again = open_store({dir.str(), ""});
  ASSERT_TRUE(again);
  EXPECT_EQ(*(*again)->setting("x").value(), "1");
}

TEST(OpenStore, RejectsOtherUrlsAndAMissingDirectory) {
  EXPECT_FALSE(open_store({"", ""}));
  EXPECT_FALSE(open_store({"/tmp", "mysql://db/tern"}));
  EXPECT_TRUE(is_postgres_url("postgres://u@h/db"));
  EXPECT_TRUE(is_postgres_url("postgresql:///db?host=/tmp"));
  EXPECT_FALSE(is_postgres_url("sqlite:///x"));
}

TEST(OpenStore, APostgresUrlOpensPostgresAndStillMakesTheDataDirectory) {
  if (!testing::PgServer::get()) GTEST_SKIP() << "PostgreSQL: " << testing::PgServer::skip_reason();
  testing::TempDir dir;
  const std::string data = dir.str() + "/instance";
  auto s = open_store({data, testing::PgServer::get()->create_database()});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_GE((*s)->change_fd(), 0);  // a PgStore
  EXPECT_TRUE(std::filesystem::is_directory(data));
}

}  // namespace
}  // namespace tern::control
