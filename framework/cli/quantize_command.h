// `deepseek quantize`: DMPQ post-training quantization of a model file (../shared/docs/MODEL.md
// section 4, model/SPEC.md section 8).
#pragma once

#include <string>
#include <vector>

namespace ds {

// Lines for `deepseek --help`.
extern const char* const kQuantizeHelpLine;

// `deepseek quantize --model M --calibration PATH --out FILE [--kl-budget X | --target-size S]
// [options]`: measures, on the calibration texts, the KL divergence of the model's head outputs
// when one weight matrix at a time is quantized (INT8, INT4), picks per-matrix precisions greedily
// (least KL per byte saved) within the KL budget or until the size target is reached, writes the
// quantized model file and prints the table. `args` are the words after "quantize".
// Returns the exit code: 0 done; 1 the size target cannot be reached; 2 usage error or bad input
// (the message names the file, line or key); 3 a runtime failure (an unwritable file).
int run_quantize_command(const std::vector<std::string>& args);

}  // namespace ds
