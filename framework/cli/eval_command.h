// `deepseek eval ...`: scoring extraction results against gold annotations.
#pragma once

#include <string>
#include <vector>

namespace ds {

// `deepseek eval legal --gold FILE --pred FILE [options]`: CUAD-style clause extraction metrics
// (see plugins/legal/EVAL.md), as a table or, with --json, as one JSON object on stdout. `args` are
// the words after "eval". `deepseek eval triage ...` goes to run_triage_eval_command (triage_eval.h). Returns the exit code: 0 scored; 2 usage error or bad input (the message
// names the file and, for a malformed row, its line); 1 an internal error.
int run_eval_command(const std::vector<std::string>& args);

}  // namespace ds
