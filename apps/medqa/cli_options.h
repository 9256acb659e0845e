// medqa's command line: parsed into MedqaOptions, or a UsageError saying what is wrong.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace ds::medqa {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Exit codes (medqa --help).
constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

struct MedqaOptions {
  std::vector<std::string> questions;  // from the arguments; empty: read stdin
  std::string pipeline;                // empty: the bundled medical_qa.yaml
  std::string model;                   // empty: the pipeline's model
  std::string kb;                      // empty: the pipeline's knowledge base
  std::string path;                    // empty | light | standard | heavy | auto
  std::string lang = "auto";           // auto | zh | en
  std::string plugin_path;
  std::string batch;                   // non-empty: --batch FILE ("-": stdin)
  bool json = false;
  bool help = false;
  bool version = false;
};

// Throws UsageError. `args` excludes the program name.
MedqaOptions parse_options(const std::vector<std::string>& args);

extern const char* const kHelp;

}  // namespace ds::medqa
