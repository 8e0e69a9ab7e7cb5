#include "delivery/junit.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <pugixml.hpp>
#include <string>

namespace emporium::delivery {
namespace {

// The case's name, qualified as the header says.
std::string QualifiedName(const pugi::xml_node& testcase) {
    std::string name = testcase.attribute("name").as_string();
    const std::string classname = testcase.attribute("classname").as_string();
    if (!classname.empty() && classname != name && classname != "test") return classname + "." + name;
    if (classname != "test") return name;
    std::string outer;
    for (pugi::xml_node up = testcase.parent(); up; up = up.parent()) {
        if (std::string_view(up.name()) != "testsuite" || *up.attribute("name").as_string() == '\0') continue;
        std::string here = up.attribute("name").as_string();
        if (!outer.empty()) here.append(" > ").append(outer);
        outer = std::move(here);
    }
    return outer.empty() ? name : outer + " > " + name;
}

std::string ResultOf(const pugi::xml_node& testcase) {
    if (testcase.child("failure") || testcase.child("error")) return "failed";
    const std::string_view status = testcase.attribute("status").as_string();
    if (status == "fail" || status == "failed") return "failed";
    if (testcase.child("skipped") || status == "disabled" || status == "notrun" || status == "skipped") {
        return "skipped";
    }
    return "passed";
}

}  // namespace

Result<std::vector<TestCase>> ParseJunit(std::string_view xml, std::string_view suite) {
    pugi::xml_document doc;
    pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
    if (!parsed) {
        return Error::BadRequest(std::string("The JUnit XML is not well-formed: ") + parsed.description() + ".",
                                 "malformed_junit");
    }
    std::vector<TestCase> cases;
    for (const pugi::xpath_node& found : doc.select_nodes("//testcase")) {
        const pugi::xml_node node = found.node();
        TestCase t;
        t.suite = std::string(suite);
        t.name = QualifiedName(node);
        t.result = ResultOf(node);
        const double seconds = node.attribute("time").as_double(0);
        t.duration_ms = std::isfinite(seconds) && seconds > 0
                            ? static_cast<std::int64_t>(std::llround(std::min(seconds, 1e7) * 1000))
                            : 0;
        cases.push_back(std::move(t));
    }
    return cases;
}

}  // namespace emporium::delivery
