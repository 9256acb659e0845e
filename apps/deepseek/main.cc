// The `deepseek` command: everything lives in the framework's CLI layer so
// tests can drive it in-process.
#include "cli/app.h"

int main(int argc, char** argv) { return ds::run_cli(argc, argv); }
