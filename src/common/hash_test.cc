#include "common/hash.h"

#include <gtest/gtest.h>

namespace loupe {
namespace {

TEST(HashTest, Sha256HexKnownVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HashTest, IdHashIsStable) {
  // Stored in database indexes: must never change between builds.
  EXPECT_EQ(IdHash64("trace-1"), IdHash64("trace-1"));
  EXPECT_NE(IdHash64("trace-1"), IdHash64("trace-2"));
  EXPECT_EQ(IdHash64(""), IdHash64(""));
}

TEST(HashTest, UuidShape) {
  std::string u = NewUuid();
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
  EXPECT_NE(NewUuid(), u);
}

TEST(HashTest, Base64) {
  std::string out;
  ASSERT_TRUE(Base64Decode("cGstbGYtdGVzdDpzay1sZi10ZXN0", &out));
  EXPECT_EQ(out, "pk-lf-test:sk-lf-test");
  EXPECT_FALSE(Base64Decode("not base64!", &out));
}

}  // namespace
}  // namespace loupe
