// What one product photo upload costs the shop: media::Process (sniff, header check, decode,
// upright sRGB, 9 re-encoded variants: AVIF, WebP and JPEG at up to 320/640/1280 wide) on
// photo-like JPEGs of growing size (a drawn gradient with a disc under Gaussian noise, saved at
// quality 90), and the three encoders alone on one 1280-wide picture. One thread per picture, as
// in the shop (media.cpp).
#include <benchmark/benchmark.h>

#include <string>
#include <vips/vips8>

#include "media/media.h"

namespace {

using vips::VImage;

std::string TakeBlob(VipsBlob* blob) {
    std::string out(static_cast<const char*>(VIPS_AREA(blob)->data), VIPS_AREA(blob)->length);
    vips_area_unref(VIPS_AREA(blob));
    return out;
}

// A camera-like JPEG: smooth shapes with sensor noise, which encoders find harder than a gradient.
std::string Photo(int width, int height) {
    std::string drawn = emporium::media::DrawPicture(width, height, 11);
    VImage image = VImage::new_from_buffer(drawn.data(), drawn.size(), "");
    VImage noise = VImage::gaussnoise(width, height, VImage::option()->set("sigma", 12.0));
    VImage noisy = (image + noise).cast(VIPS_FORMAT_UCHAR);
    noisy = noisy.copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
    return TakeBlob(noisy.jpegsave_buffer(VImage::option()->set("Q", 90)));
}

void BM_Upload(benchmark::State& state) {
    const int width = static_cast<int>(state.range(0));
    const int height = static_cast<int>(state.range(1));
    const std::string input = Photo(width, height);
    std::size_t stored = 0;
    for (auto _ : state) {
        auto processed = emporium::media::Process(input);
        if (!processed.ok()) {
            state.SkipWithError(processed.error().message.c_str());
            return;
        }
        stored = 0;
        for (const auto& v : processed->variants) stored += v.bytes.size();
        benchmark::DoNotOptimize(stored);
    }
    state.counters["megapixels"] = width * height / 1e6;
    state.counters["input_kb"] = static_cast<double>(input.size()) / 1024;
    state.counters["stored_kb"] = static_cast<double>(stored) / 1024;
}
BENCHMARK(BM_Upload)
    ->Args({800, 600})
    ->Args({1600, 1200})
    ->Args({3000, 2000})
    ->Args({4000, 3000})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
