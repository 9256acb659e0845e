// legal-extract's command line: parsed into ExtractOptions, or a UsageError saying what is wrong.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ds::legal_extract {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ExtractOptions {
  std::vector<std::string> inputs;  // files, folders, globs, as given
  std::string db;                   // empty: the default
  std::string jsonl, csv, report;   // empty: not written
  std::optional<double> min_confidence;
  std::vector<std::string> categories;  // as given, validated later against the taxonomy
  std::string lang;                     // empty | auto | zh | en
  std::string path;                     // empty | light | standard | heavy | auto
  int threads = -1;                     // -1: the pipeline's
  std::string pipeline;                 // empty: the bundled legal_extraction.yaml
  std::string progress;                 // empty | auto | bar | log | none
  std::string plugin_path;
  bool json = false;
  bool help = false;
  bool version = false;
};

// Throws UsageError. `args` excludes the program name.
ExtractOptions parse_options(const std::vector<std::string>& args);

extern const char* const kHelp;

}  // namespace ds::legal_extract
