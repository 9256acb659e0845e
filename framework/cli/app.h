// The `deepseek` command line: run, validate, config, plugins, stages.
//
// Exit codes: 0 every document done; 1 some documents failed; 2 usage or configuration error;
// 3 a fatal runtime error (a sink that cannot write, a stage that cannot start); 130 interrupted.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace ds {

constexpr int kExitOk = 0;
constexpr int kExitSomeFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitRuntime = 3;
constexpr int kExitInterrupted = 130;

// A command the program embedding the CLI adds (the `deepseek` binary adds `kb`), so domain
// commands live outside the framework. `run` gets the words after the command name and returns
// the exit code; exceptions it lets through are reported as fatal runtime errors.
struct ExtraCommand {
  std::string name;  // "kb"
  std::string help;  // its lines in the main help's command list, indented like the others
  std::function<int(const std::vector<std::string>&)> run;
};

int run_cli(int argc, char** argv, const std::vector<ExtraCommand>& extra = {});

}  // namespace ds
