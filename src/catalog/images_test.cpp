#include "catalog/images.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "catalog/catalog.h"
#include "catalog/seed.h"
#include "catalog/testing.h"
#include "db/testing.h"
#include "media/media.h"

namespace emporium::catalog {
namespace {

constexpr std::int64_t kSeller = 7;
constexpr std::int64_t kOtherSeller = 8;

class ImagesTest : public ::testing::Test {
protected:
    void SetUp() override {
        service_ = std::make_unique<CatalogService>(*database_, clock_);
        service_->OnProductChanged([this](std::int64_t id) { changes_.push_back(id); });
        database_->Write(
            [](db::Connection& c) { c.Execute("INSERT INTO categories (slug, name) VALUES ('art', 'Art')"); });
        ProductDraft d;
        d.sku = "PIC-1";
        d.name = "Sunset Print";
        d.category = "art";
        d.price_cents = 1500;
        d.stock = 3;
        Result<Product> p = service_->Create(d, kSeller);
        ASSERT_TRUE(p.ok()) << p.error().message;
        product_ = p->id;
        changes_.clear();
    }

    ProductImage AddOne(const std::string& alt = "") {
        Result<ProductImage> r = service_->Images().Add(product_, picture_, alt, kSeller);
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().code);
        return r.ok() ? r.value() : ProductImage{};
    }

    std::int64_t VariantRows() {
        return database_->Read(
            [](db::Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM product_image_variants"); });
    }

    ManualClock clock_{std::chrono::system_clock::from_time_t(1'790'000'000)};
    db::TempDatabase database_{TestMigrations()};
    std::unique_ptr<CatalogService> service_;
    std::vector<std::int64_t> changes_;
    std::int64_t product_ = 0;
    const std::string picture_ = media::DrawPicture(700, 500, 1);
};

TEST_F(ImagesTest, AnUploadIsStoredWithEveryVariantAndBecomesTheProductsPicture) {
    ProductImage image = AddOne("A red sunset");
    EXPECT_TRUE(image.is_main);
    EXPECT_EQ(image.width, 700);
    EXPECT_EQ(image.height, 500);
    EXPECT_EQ(VariantRows(), 9);  // 320, 640, 700 x AVIF, WebP, JPEG
    EXPECT_EQ(changes_, std::vector<std::int64_t>{product_});

    Result<Product> p = service_->Get(product_);
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(p->images.size(), 1U);
    EXPECT_EQ(p->images[0].alt, "A red sunset");
    EXPECT_EQ(p->image_url, MainImageUrl(image));
    EXPECT_EQ(p->image_url, ImageVariantUrl(image, 640, media::Encoding::kJpeg));

    // The stored bytes come back whole (binary, with zero bytes, on both dialects).
    for (int width : {320, 640, 700}) {
        for (media::Encoding e : media::kEncodings) {
            std::optional<StoredVariant> v = service_->Images().Variant(product_, image.id, image.token, width, e);
            ASSERT_TRUE(v.has_value()) << width;
            Result<media::Processed> again = media::Process(v->bytes);
            ASSERT_TRUE(again.ok()) << width << " " << media::Extension(e);
            EXPECT_EQ(again->width, width);
        }
    }
    EXPECT_FALSE(service_->Images().Variant(product_, image.id, "0000000000000000", 640, media::Encoding::kJpeg));
    EXPECT_FALSE(service_->Images().Variant(product_, image.id, image.token, 1280, media::Encoding::kJpeg));
    EXPECT_FALSE(service_->Images().Variant(product_ + 1, image.id, image.token, 640, media::Encoding::kJpeg));
}

TEST_F(ImagesTest, ABadUploadChangesNothing) {
    Result<ProductImage> r = service_->Images().Add(product_, "<html>not a picture</html>", "", kSeller);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::kUnsupportedMedia);
    r = service_->Images().Add(product_, picture_.substr(0, picture_.size() / 2), "", kSeller);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::kValidation);
    r = service_->Images().Add(product_, picture_,
                               std::string("bad\x01"
                                           "alt"),
                               kSeller);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().fields.at(0).field, "alt");
    EXPECT_EQ(VariantRows(), 0);
    EXPECT_TRUE(service_->Images().List(product_).empty());
    EXPECT_TRUE(changes_.empty());
    EXPECT_NE(service_->Get(product_)->image_url.find("/image.svg?v="), std::string::npos);
}

TEST_F(ImagesTest, AnotherSellersProductIsNotFound) {
    ProductImage image = AddOne();
    Result<ProductImage> r = service_->Images().Add(product_, picture_, "", kOtherSeller);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::kNotFound);
    EXPECT_EQ(service_->Images().Change(product_, image.id, {.alt = "mine"}, kOtherSeller).error().kind,
              ErrorKind::kNotFound);
    EXPECT_EQ(service_->Images().Remove(product_, image.id, kOtherSeller).error().kind, ErrorKind::kNotFound);
    EXPECT_EQ(service_->Images().List(product_).size(), 1U);
    EXPECT_TRUE(service_->Images().Change(product_, image.id, {.alt = "admin's"}, std::nullopt).ok());
}

TEST_F(ImagesTest, AtMostEightImages) {
    for (int i = 0; i < kMaxImages; ++i) AddOne();
    Result<ProductImage> r = service_->Images().Add(product_, picture_, "", kSeller);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "too_many_images");
    EXPECT_EQ(VariantRows(), 9 * kMaxImages);
}

TEST_F(ImagesTest, UploadsAtOnceNeverPassEight) {
    for (int i = 0; i < kMaxImages - 2; ++i) AddOne();
    std::vector<std::thread> uploaders;
    uploaders.reserve(4);
    std::atomic<int> added{0};
    for (int i = 0; i < 4; ++i) {
        uploaders.emplace_back([&] {
            if (service_->Images().Add(product_, picture_, "", kSeller).ok()) ++added;
        });
    }
    for (auto& t : uploaders) t.join();
    EXPECT_EQ(added.load(), 2);
    EXPECT_EQ(static_cast<std::int64_t>(service_->Images().List(product_).size()), kMaxImages);
}

TEST_F(ImagesTest, ReorderChooseMainAndDelete) {
    ProductImage a = AddOne("a");
    ProductImage b = AddOne("b");
    ProductImage c = AddOne("c");
    auto order = [&] {
        std::string out;
        for (const ProductImage& i : service_->Images().List(product_)) out += i.alt + (i.is_main ? "*" : "");
        return out;
    };
    EXPECT_EQ(order(), "a*bc");
    ASSERT_TRUE(service_->Images().Change(product_, c.id, {.position = 0}, kSeller).ok());
    EXPECT_EQ(order(), "ca*b");
    ASSERT_TRUE(service_->Images().Change(product_, b.id, {.is_main = true}, kSeller).ok());
    EXPECT_EQ(order(), "cab*");
    EXPECT_EQ(service_->Get(product_)->image_url, MainImageUrl(b));
    ASSERT_TRUE(service_->Images().Remove(product_, b.id, kSeller).ok());
    EXPECT_EQ(order(), "c*a");  // the first one left becomes the main one
    EXPECT_EQ(VariantRows(), 18);
    Result<std::vector<ProductImage>> bad =
        service_->Images().Change(product_, a.id, {.position = -1, .is_main = false}, kSeller);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().fields.size(), 2U);
    EXPECT_EQ(service_->Images().Remove(product_, b.id, kSeller).error().kind, ErrorKind::kNotFound);
    ASSERT_TRUE(service_->Images().Remove(product_, a.id, kSeller).ok());
    ASSERT_TRUE(service_->Images().Remove(product_, c.id, kSeller).ok());
    EXPECT_EQ(VariantRows(), 0);
    EXPECT_NE(service_->Get(product_)->image_url.find("/image.svg?v="), std::string::npos);  // the tile again
}

TEST_F(ImagesTest, TheSeedDrawsPhotosForPopularProducts) {
    Result<std::int64_t> added = SeedPhotos(*database_, *service_, 5, 42);
    ASSERT_TRUE(added.ok());
    EXPECT_EQ(added.value(), 1);  // the one product in stock
    std::vector<ProductImage> images = service_->Images().List(product_);
    ASSERT_EQ(images.size(), 1U);
    EXPECT_EQ(images[0].alt, "Photo of Sunset Print");
    EXPECT_EQ(images[0].width, 1200);
    EXPECT_EQ(VariantRows(), 9);
}

}  // namespace
}  // namespace emporium::catalog
