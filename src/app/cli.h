// The command line: `emporium COMMAND [options]`, parsed into the options of each command (see
// commands.h) and run. Every option can also come from EMPORIUM_<NAME>; secrets (the PII key,
// the Twilio token, the replication token) come only from the environment.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "app/ci_report_command.h"
#include "app/commands.h"

namespace emporium::app {

enum class Command {
    kNone,
    kServe,
    kStandby,
    kPromote,
    kBackup,
    kBackupVerify,
    kRestore,
    kWorker,
    kMigrate,
    kSeed,
    kUserCreate,
    kKeysRotate,
    kRecsExport,
    kRecsTrain,
    kRecsRollback,
    kCiReport,
};

struct DataDirOptions {
    std::string data_dir = "./data";
};

struct BackupVerifyOptions {
    std::string data_dir = "./data";
    std::string file;  // empty: the newest backup
};

struct RestoreOptions {
    std::string data_dir = "./data";
    std::string from;
};

struct RecsCommandOptions {
    std::string data_dir = "./data";
    std::string out;   // export: the directory for the CSV files
    std::string from;  // train: an export's directory instead of the database
};

struct PromoteOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 9090;
};

// What the command line asked for: which command, and the options each command was given.
// Every command has options of its own, never shared with another: CLI11 reads the environment
// and stores every subcommand's options, chosen or not, so a variable two commands shared would
// end up with the environment's value whatever the chosen command's flag said.
struct CommandLine {
    Command command = Command::kNone;
    ServeOptions serve;
    ServeOptions standby;  // the same options plus the primary
    PromoteOptions promote;
    BackupCommandOptions backup;
    BackupVerifyOptions verify;
    RestoreOptions restore;
    WorkerOptions worker;
    DataDirOptions migrate;
    SeedCommandOptions seed;
    UserCreateOptions user;
    DataDirOptions rotate;
    RecsCommandOptions recs_export;
    RecsCommandOptions recs_train;
    DataDirOptions recs_rollback;
    std::unique_ptr<CiReportCommand> ci_report;  // `ci-report` keeps its own options
};

// Parses argv into `line`. On --help, --version or a usage error it prints what CLI11 prints and
// returns the exit code to end with; otherwise nullopt.
std::optional<int> ParseCommandLine(int argc, const char* const* argv, CommandLine& line);

// Runs the parsed command and returns the process exit code (1 and a line on stderr when the
// command throws).
int RunCommand(const CommandLine& line);

}  // namespace emporium::app
