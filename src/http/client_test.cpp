#include "http/client.h"

#include <gtest/gtest.h>

namespace emporium::http {
namespace {

TEST(IsPublicAddress, RefusesEveryInternalRange) {
    for (const char* address : {"127.0.0.1",
                                "127.255.0.9",
                                "10.1.2.3",
                                "172.16.0.1",
                                "172.31.255.255",
                                "192.168.1.1",
                                "169.254.169.254",
                                "100.64.0.1",
                                "0.0.0.0",
                                "224.0.0.1",
                                "255.255.255.255",
                                "192.0.2.10",
                                "198.18.0.1",
                                "::",
                                "::1",
                                "fe80::1",
                                "fd00::1",
                                "fc00::5",
                                "ff02::1",
                                "::ffff:127.0.0.1",
                                "::ffff:10.0.0.1",
                                "64:ff9b::a9fe:a9fe",
                                "2002:7f00:1::",
                                "2001:db8::1",
                                "::127.0.0.1"}) {
        EXPECT_FALSE(IsPublicAddress(address)) << address;
    }
}

TEST(IsPublicAddress, AcceptsPublicAddresses) {
    for (const char* address :
         {"1.1.1.1", "8.8.8.8", "172.15.255.255", "172.32.0.1", "100.128.0.1", "54.239.28.85", "2606:4700:4700::1111",
          "2a00:1450:4001:81b::200e", "::ffff:8.8.8.8", "2002:808:808::"}) {
        EXPECT_TRUE(IsPublicAddress(address)) << address;
    }
}

TEST(IsPublicAddress, RefusesTextThatIsNoAddress) {
    EXPECT_FALSE(IsPublicAddress(""));
    EXPECT_FALSE(IsPublicAddress("localhost"));
    EXPECT_FALSE(IsPublicAddress("1.1.1.1 "));
    EXPECT_FALSE(IsPublicAddress("1.1.1"));
}

// The check runs on the address curl is about to dial, so a name resolving to loopback is refused
// as well as a literal; without public_only the same call gets as far as connecting.
TEST(Perform, PublicOnlyRefusesLoopbackByNameAndByAddress) {
    for (const char* url : {"http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://[::1]:9/hook"}) {
        HttpCall call;
        call.url = url;
        call.body = "{}";
        call.timeout = std::chrono::milliseconds(2000);
        call.public_only = true;
        HttpAnswer refused = Perform(call);
        EXPECT_EQ(refused.status, 0) << url;
        EXPECT_EQ(refused.error, "refused: the address is not public") << url;

        call.public_only = false;
        HttpAnswer dialled = Perform(call);
        EXPECT_EQ(dialled.status, 0) << url;  // nothing listens on the discard port
        EXPECT_NE(dialled.error, refused.error) << url;
    }
}

}  // namespace
}  // namespace emporium::http
