#!/usr/bin/env python3
"""Runs the cluster tests (tests/cluster/test_*.py), each against whole clusters started by
scripts/cluster.sh, with tests/api/run.py's runner; ends with the line 'N passed, M failed'.
Arguments narrow the run to modules or test names, as unittest takes them."""
import importlib.util
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
spec = importlib.util.spec_from_file_location("api_run", os.path.join(HERE, "..", "api", "run.py"))
api_run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(api_run)

if __name__ == "__main__":
    loader = unittest.TestLoader()
    suite = loader.loadTestsFromNames(sys.argv[1:]) if len(sys.argv) > 1 else loader.discover(HERE, pattern="test_*.py")
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout, resultclass=api_run.TimedResult).run(suite)
    if os.environ.get("EMPORIUM_TEST_JUNIT"):
        api_run.write_junit(os.environ["EMPORIUM_TEST_JUNIT"], result.outcomes)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses) + len(result.skipped)
    passed = result.testsRun - failed
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and result.testsRun > 0 else 1)
