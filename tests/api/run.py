#!/usr/bin/env python3
"""Runs every API test module (tests/api/test_*.py) against build/emporium and ends with the
line 'N passed, M failed'. Arguments narrow the run to modules or test names, as unittest takes them.
With EMPORIUM_TEST_JUNIT=FILE it also writes the results as JUnit XML (for `emporium ci-report
stage --junit`, which records them for the admin Delivery page)."""
import os
import sys
import time
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class TimedResult(unittest.TextTestResult):
    """Keeps each test's outcome and duration: {test id: (outcome, seconds, message)}."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcomes = {}
        self.started = {}

    def startTest(self, test):
        self.started[test.id()] = time.monotonic()
        super().startTest(test)

    def note(self, test, outcome, message=""):
        seconds = time.monotonic() - self.started.get(test.id(), time.monotonic())
        if self.outcomes.get(test.id(), ("passed",))[0] == "passed":  # a failed subtest is not undone
            self.outcomes[test.id()] = (outcome, seconds, message)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.note(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.note(test, "failed", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self.note(test, "failed", self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.note(test, "skipped", reason)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.note(test, "failed", self._exc_info_to_string(err, test))

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.note(test, "failed", "unexpected success")


def write_junit(path, outcomes):
    suite = ET.Element("testsuite", name="api", tests=str(len(outcomes)),
                      failures=str(sum(o[0] == "failed" for o in outcomes.values())))
    for test_id, (outcome, seconds, message) in sorted(outcomes.items()):
        classname, _, name = test_id.rpartition(".")
        case = ET.SubElement(suite, "testcase", classname=classname, name=name, time=f"{seconds:.3f}")
        if outcome == "failed":
            ET.SubElement(case, "failure", message=message.strip().splitlines()[-1][:200] if message else "failed")
        elif outcome == "skipped":
            ET.SubElement(case, "skipped", message=message[:200])
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


if __name__ == "__main__":
    # Shops seeded alike start from copies of one seed (tests/api/shop.py); make test shares one
    # directory between the modules it runs at once, a run on its own keeps its copies to itself.
    if not os.environ.get("EMPORIUM_SEED_CACHE"):
        import atexit
        import shutil
        import tempfile
        os.environ["EMPORIUM_SEED_CACHE"] = tempfile.mkdtemp(prefix="emporium-seeds-")
        atexit.register(shutil.rmtree, os.environ["EMPORIUM_SEED_CACHE"], True)
    loader = unittest.TestLoader()
    suite = loader.loadTestsFromNames(sys.argv[1:]) if len(sys.argv) > 1 else loader.discover(HERE, pattern="test_*.py")
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout, resultclass=TimedResult).run(suite)
    if os.environ.get("EMPORIUM_TEST_JUNIT"):
        write_junit(os.environ["EMPORIUM_TEST_JUNIT"], result.outcomes)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    if skipped:
        failed += skipped  # a skipped test is a test that did not run: count it against us
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and result.testsRun > 0 else 1)
