// Test results from JUnit XML, as written by `ctest --output-junit`, node's junit test reporter
// and tests/api/run.py: each <testcase> anywhere in the document is one result.
#pragma once

#include <string_view>
#include <vector>

#include "core/result.h"
#include "delivery/delivery.h"

namespace emporium::delivery {

// The cases of a JUnit XML document, all in suite. A case with <failure> or <error> failed, one
// with <skipped> (or ctest's status "disabled" / "notrun") was skipped, any other passed. Its name
// is qualified by its classname when that says more than the name (Python's module.Class); node's
// placeholder classname "test" is replaced by the enclosing <testsuite> names (its describe blocks,
// "outer > inner"). 400 when the text is not well-formed XML.
Result<std::vector<TestCase>> ParseJunit(std::string_view xml, std::string_view suite);

}  // namespace emporium::delivery
