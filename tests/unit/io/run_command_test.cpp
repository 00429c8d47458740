#include <gtest/gtest.h>

#include "io/run_command.hpp"

namespace tern::io {
namespace {

using std::chrono::milliseconds;

TEST(RunCommand, CollectsOutputAndStatus) {
  auto r = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"}, milliseconds(5000), 1024);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_status, 3);
  EXPECT_FALSE(r->not_found);
}

TEST(RunCommand, MissingProgram) {
  auto r = run_command({"tern-no-such-program-here"}, milliseconds(5000), 1024);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->not_found);
}

TEST(RunCommand, BoundedInTimeAndSize) {
  auto slow = run_command({"sleep", "10"}, milliseconds(200), 1024);
  ASSERT_FALSE(slow);
  EXPECT_NE(slow.error().message.find("did not finish in time"), std::string::npos);
  auto loud = run_command({"sh", "-c", "yes"}, milliseconds(5000), 4096);
  ASSERT_FALSE(loud);
  EXPECT_NE(loud.error().message.find("printed too much"), std::string::npos);
}

}  // namespace
}  // namespace tern::io
