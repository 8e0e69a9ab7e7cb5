#include "catalog/product_image.h"

#include <gtest/gtest.h>

namespace emporium::catalog {
namespace {

TEST(ProductImageVersion, IsEightHexDigitsAndStableForEqualInput) {
    std::string v = ProductImageVersion("Star Racer", "pc-games", "PC Games");
    ASSERT_EQ(v.size(), 8u);
    EXPECT_EQ(v.find_first_not_of("0123456789abcdef"), std::string::npos) << v;
    EXPECT_EQ(v, ProductImageVersion("Star Racer", "pc-games", "PC Games"));
}

TEST(ProductImageVersion, ChangesWithEverythingThePictureShows) {
    std::string v = ProductImageVersion("Star Racer", "pc-games", "PC Games");
    EXPECT_NE(v, ProductImageVersion("Star Racer II", "pc-games", "PC Games"));
    EXPECT_NE(v, ProductImageVersion("Star Racer", "consoles", "PC Games"));
    EXPECT_NE(v, ProductImageVersion("Star Racer", "pc-games", "Computer Games"));
    // Moving text from one field to the next is another picture too.
    EXPECT_NE(ProductImageVersion("ab", "c", "d"), ProductImageVersion("a", "bc", "d"));
}

TEST(ProductImageVersion, SamePictureForSameVersion) {
    // What the version promises: equal versions for equal input draw equal pictures.
    EXPECT_EQ(RenderProductImage("Star Racer", "pc-games", "PC Games"),
              RenderProductImage("Star Racer", "pc-games", "PC Games"));
}

}  // namespace
}  // namespace emporium::catalog
