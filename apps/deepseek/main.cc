// The `deepseek` command: everything lives in the framework's CLI layer so tests can drive it
// in-process; the medical knowledge-base commands (`kb`) are added here, outside the framework, and
// so is `quantize` (framework/cli/quantize_command.h), as an extra command.
#include "cli/app.h"
#include "cli/quantize_command.h"
#include "kb_command.h"

int main(int argc, char** argv) {
  return ds::run_cli(argc, argv, {{"kb", ds::apps::kKbHelpLine, ds::apps::run_kb_command},
                                   {"quantize", ds::kQuantizeHelpLine, ds::run_quantize_command}});
}
