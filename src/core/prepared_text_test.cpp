#include "core/prepared_text.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace emporium {
namespace {

std::string Json(std::size_t products) {
    std::string text = "{\"items\":[";
    for (std::size_t i = 0; i < products; ++i) {
        if (i) text += ',';
        text += "{\"id\":" + std::to_string(i) + ",\"name\":\"Shadow Legends " + std::to_string(i) +
                "\",\"price_cents\":" + std::to_string(1999 + i) + "}";
    }
    return text + "]}";
}

TEST(AcceptsEncoding, ReadsCodingsAndQValues) {
    EXPECT_TRUE(AcceptsEncoding("gzip, deflate, br", "br"));
    EXPECT_TRUE(AcceptsEncoding("gzip, deflate, br", "gzip"));
    EXPECT_TRUE(AcceptsEncoding("GZIP;q=0.5", "gzip"));
    EXPECT_TRUE(AcceptsEncoding(" br ; q=1", "br"));
    EXPECT_FALSE(AcceptsEncoding("br;q=0", "br"));
    EXPECT_FALSE(AcceptsEncoding("br;q=0.000", "br"));
    EXPECT_FALSE(AcceptsEncoding("identity", "gzip"));
    EXPECT_FALSE(AcceptsEncoding("", "gzip"));
    EXPECT_FALSE(AcceptsEncoding("xgzip, gzipx", "gzip"));
}

TEST(PreparedText, SendsBrotliThenGzipThenTheTextAndEachDecodesToTheText) {
    const std::string json = Json(24);
    auto prepared = PreparedText::Make(json);
    ASSERT_TRUE(prepared->compressible());

    PreparedText::Choice br = prepared->For("gzip, deflate, br");
    EXPECT_EQ(br.coding, "br");
    EXPECT_LT(br.bytes.size(), json.size() / 3);
    EXPECT_EQ(BrotliDecompress(br.bytes, json.size()), json);

    PreparedText::Choice gz = prepared->For("gzip");
    EXPECT_EQ(gz.coding, "gzip");
    EXPECT_EQ(GzipDecompress(gz.bytes, json.size()), json);

    PreparedText::Choice plain = prepared->For("identity");
    EXPECT_EQ(plain.coding, "");
    EXPECT_EQ(plain.bytes, json);
}

TEST(PreparedText, MakesEachEncodingOnceAndSharesIt) {
    auto prepared = PreparedText::Make(Json(50));
    const char* first = prepared->For("br").bytes.data();
    EXPECT_EQ(prepared->For("br, gzip").bytes.data(), first);  // the same bytes, not a new encoding
    // Many threads asking at once all get the one encoding.
    auto fresh = PreparedText::Make(Json(50));
    std::vector<const char*> seen(8);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        threads.emplace_back([&, i] { seen[i] = fresh->For("gzip").bytes.data(); });
    }
    for (auto& t : threads) t.join();
    for (const char* p : seen) EXPECT_EQ(p, seen[0]);
}

TEST(PreparedText, LeavesShortAndIncompressibleBodiesAsTheyAre) {
    auto tiny = PreparedText::Make("{\"ok\":true}");
    EXPECT_FALSE(tiny->compressible());
    EXPECT_EQ(tiny->For("br, gzip").coding, "");
    auto image = PreparedText::Make(std::string(4096, 'x'), /*compressible=*/false);
    EXPECT_EQ(image->For("br, gzip").coding, "");
    EXPECT_EQ(image->For("br, gzip").bytes.size(), 4096u);
}

TEST(PreparedText, KeepsGivenEncodingsOnlyWhenTheySaveSomething) {
    const std::string text = Json(30);
    auto made = PreparedText::WithEncodings(
        text, {.gzip = GzipCompress(text, PreparedText::Effort::kBest), .brotli = std::string(text.size() + 10, 'b')},
        PreparedText::Effort::kBest);
    EXPECT_EQ(GzipDecompress(made->For("gzip").bytes, text.size()), text);
    // The given brotli variant is larger than the text: dropped, and a real one made instead.
    EXPECT_EQ(BrotliDecompress(made->For("br").bytes, text.size()), text);
}

TEST(PreparedText, CostsRoomForItsEncodingsBeforeTheyAreMade) {
    auto prepared = PreparedText::Make(Json(24));
    const std::size_t cost = prepared->MemoryCost();
    const std::size_t made =
        prepared->text().size() + prepared->For("br").bytes.size() + prepared->For("gzip").bytes.size();
    EXPECT_GE(cost, made);
    EXPECT_EQ(PreparedText::Make("short")->MemoryCost(), 5u);
}

TEST(Decompress, RefusesGarbageAndBodiesOverTheLimit) {
    const std::string text(10000, 'a');
    EXPECT_EQ(GzipDecompress("not gzip", 100), "");
    EXPECT_EQ(BrotliDecompress("not brotli", 100), "");
    EXPECT_EQ(GzipDecompress(GzipCompress(text, PreparedText::Effort::kFast), 100), "");
    EXPECT_EQ(BrotliDecompress(BrotliCompress(text, PreparedText::Effort::kFast), 100), "");
}

}  // namespace
}  // namespace emporium
