// The command line: `emporium COMMAND [options]`, parsed into the options of each command (see
// commands.h) and run. Every option can also come from EMPORIUM_<NAME>; secrets (the PII key,
// the Twilio token, the replication token) come only from the environment.
#pragma once

#include <optional>
#include <string>

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
};

// What the command line asked for: which command, and the options each command was given.
struct CommandLine {
    Command command = Command::kNone;
    std::string data_dir = "./data";
    ServeOptions serve;    // serve
    ServeOptions standby;  // standby: the same options plus the primary
    std::string promote_host = "127.0.0.1";
    std::uint16_t promote_port = 9090;
    BackupCommandOptions backup;
    std::string verify_file;  // backup verify: empty means the newest backup
    std::string restore_from;
    WorkerOptions worker;
    SeedCommandOptions seed;
    UserCreateOptions user;
};

// Parses argv into `line`. On --help, --version or a usage error it prints what CLI11 prints and
// returns the exit code to end with; otherwise nullopt.
std::optional<int> ParseCommandLine(int argc, const char* const* argv, CommandLine& line);

// Runs the parsed command and returns the process exit code (1 and a line on stderr when the
// command throws).
int RunCommand(const CommandLine& line);

}  // namespace emporium::app
