#include "core/trace.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/log.h"

namespace emporium {
namespace {

constexpr const char* kExample = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(Trace, ParsesTheSpecificationsExampleAndWritesItBack) {
    std::optional<TraceContext> trace = ParseTraceparent(kExample);
    ASSERT_TRUE(trace);
    EXPECT_EQ(trace->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(trace->span_id, "00f067aa0ba902b7");
    EXPECT_TRUE(trace->sampled);
    EXPECT_EQ(trace->Traceparent(), kExample);
}

TEST(Trace, RefusesMalformedHeaders) {
    for (const char* bad : {
             "",
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",       // no flags
             "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper case
             "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // all-zero trace id
             "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // all-zero parent id
             "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
             "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",    // not hex
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // version 00 has no more
             "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
         }) {
        EXPECT_FALSE(ParseTraceparent(bad)) << bad;
    }
    // A later version is read by its first four fields.
    EXPECT_TRUE(ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"));
}

TEST(Trace, ASpanKeepsItsParentsTraceAndANewOneStartsATrace) {
    const TraceContext child = StartSpan(ParseTraceparent(kExample));
    EXPECT_EQ(child.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_NE(child.span_id, "00f067aa0ba902b7");
    EXPECT_TRUE(ParseTraceparent(child.Traceparent()));
    const TraceContext fresh = StartSpan(std::nullopt);
    EXPECT_TRUE(ParseTraceparent(fresh.Traceparent())) << fresh.Traceparent();
    EXPECT_NE(fresh.trace_id, StartSpan(std::nullopt).trace_id);
}

TEST(Trace, AScopeMakesTheTraceCurrentOnItsThreadAndLogLinesCarryIt) {
    EXPECT_EQ(CurrentTrace(), nullptr);
    EXPECT_EQ(LogFields("outside").str().find("trace_id"), std::string::npos);
    {
        TraceScope scope{std::string_view(kExample)};
        ASSERT_NE(CurrentTrace(), nullptr);
        EXPECT_EQ(CurrentTraceparent(), kExample);
        EXPECT_NE(LogFields("inside").str().find(R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736")"),
                  std::string::npos);
        std::thread other([] { EXPECT_EQ(CurrentTrace(), nullptr); });  // per thread
        other.join();
        {
            TraceScope none{std::string_view("garbage")};
            EXPECT_EQ(CurrentTrace()->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");  // nothing new made current
        }
    }
    EXPECT_EQ(CurrentTraceparent(), "");
}

}  // namespace
}  // namespace emporium
