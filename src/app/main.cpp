// emporium: the command line (see app/cli.h for the commands and their options).
#include "app/cli.h"

int main(int argc, char** argv) {
    emporium::app::CommandLine line;
    if (std::optional<int> done = emporium::app::ParseCommandLine(argc, argv, line)) return *done;
    return emporium::app::RunCommand(line);
}
