// `deepseek model ...`: inspecting model files.
#pragma once

#include <string>
#include <vector>

namespace ds {

// `deepseek model info FILE [--json]`: config, paths, heads with labels, precision map summary,
// parameter count, size on disk, tokenizer hash. `args` are the words after "model".
// Returns the exit code: 0, or 2 (usage error, or a file that does not validate: the message
// names the file and the tensor or key).
int run_model_command(const std::vector<std::string>& args, bool json, bool help);

}  // namespace ds
