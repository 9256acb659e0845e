// The `deepseek` command line: run, validate, config, plugins, stages.
//
// Exit codes: 0 every document done; 1 some documents failed; 2 usage or configuration error;
// 3 a fatal runtime error (a sink that cannot write, a stage that cannot start); 130 interrupted.
#pragma once

namespace ds {

constexpr int kExitOk = 0;
constexpr int kExitSomeFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitRuntime = 3;
constexpr int kExitInterrupted = 130;

int run_cli(int argc, char** argv);

}  // namespace ds
