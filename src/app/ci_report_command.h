// `emporium ci-report`: the CI tool that feeds the admin Delivery page.
//
//   emporium ci-report stage NAME [--junit FILE] -- COMMAND...   times COMMAND as a stage of the
//       current run and records its outcome (and the JUnit results it wrote); exits with
//       COMMAND's own exit code, whatever happens to the report
//   emporium ci-report deploy --commits A..B [--environment E]    records a deployment shipping
//       the commits `git log A..B` lists, with their commit times
//   emporium ci-report flush                                      sends the spooled events
//
// Events go to the shop named by --shop (EMPORIUM_CI_SHOP_URL) with the staff token in
// EMPORIUM_CI_TOKEN or the file named by EMPORIUM_CI_TOKEN_FILE (scope delivery:write; never a
// flag). With no shop set, or none answering, they are appended to the spool file (NDJSON,
// --spool / EMPORIUM_CI_SPOOL, default build/delivery-events.ndjson) for a later flush. Each
// event has an id made from the run id (EMPORIUM_CI_RUN_ID) and the stage name, so sending one
// twice records it once.
#pragma once

#include <memory>

namespace CLI {  // NOLINT(readability-identifier-naming): CLI11's own name
class App;
}

namespace emporium::app {

class CiReportCommand {
public:
    // Adds `ci-report` and its subcommands to app.
    explicit CiReportCommand(CLI::App& app);
    ~CiReportCommand();
    CiReportCommand(const CiReportCommand&) = delete;
    CiReportCommand& operator=(const CiReportCommand&) = delete;

    bool parsed() const;
    // Runs the parsed subcommand; returns the process exit code.
    int Run();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace emporium::app
