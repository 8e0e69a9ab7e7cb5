// A Vitest reporter that ends the run with one plain line, 'N passed, M failed', the closing
// line scripts/test.sh (and CI) read from every suite. Runs after the default reporter.
export default class SummaryLine {
  onTestRunEnd(testModules, unhandledErrors) {
    let passed = 0
    let failed = 0
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state
        if (state === 'passed') passed++
        else if (state === 'failed') failed++
      }
      if (module.state() === 'failed' && !module.children.size) failed++ // a file that could not load
    }
    failed += unhandledErrors.length
    console.log(`${passed} passed, ${failed} failed`)
  }
}
