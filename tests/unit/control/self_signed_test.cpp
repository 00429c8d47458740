#include "control/self_signed.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>

#include "temp_dir.hpp"

namespace tern::control {
namespace {

TEST(SelfSigned, MadeOnceWithAPrivateKeyAndTheNames) {
  testing::TempDir dir;
  auto files = ensure_self_signed(dir.str(), {"localhost", "127.0.0.1", "192.0.2.10"});
  ASSERT_TRUE(files) << files.error().message;
  EXPECT_TRUE(files->created);
  struct stat st {};
  ASSERT_EQ(::stat(files->key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  FILE* f = std::fopen(files->cert.c_str(), "r");
  ASSERT_NE(f, nullptr);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_host(cert, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "192.0.2.10", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "192.0.2.11", 0), 0);
  EXPECT_EQ(X509_check_host(cert, "example.org", 0, 0, nullptr), 0);
  X509_free(cert);

  auto again = ensure_self_signed(dir.str(), {"localhost"});
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created);
}

}  // namespace
}  // namespace tern::control
