// `deepseek kb ...`: build, search and grow the medical knowledge base (plugins/medical/kb). Only
// argument parsing and printing live here; the work is in ds_medical_kb_tools.
#pragma once

#include <string>
#include <vector>

namespace ds::apps {

// Lines for `deepseek --help`.
extern const char* const kKbHelpLine;

// `args` are the words after "kb". Exit codes: 0 done, 1 error (the message names the file),
// 2 usage error.
int run_kb_command(const std::vector<std::string>& args);

}  // namespace ds::apps
