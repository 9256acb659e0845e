// Building a KB file from the project's entries, and importing MedQuAD into one: what
// `deepseek kb build` and `deepseek kb import medquad` do (the CLI only parses and prints).
//
// Links ds_framework (through the Embedder): for the CLI, tests and apps, not for the plug-in.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kb_file.h"

namespace ds::medical::kb {

// Receives progress lines ("[kb] embedded 3200/16423 passages, 52/s"); may be empty.
using LogFn = std::function<void(const std::string&)>;

struct EmbedSettings {
  std::optional<std::filesystem::path> model;  // none: no embeddings (the KB is full-text only)
  std::filesystem::path tokenizer;             // empty: default_tokenizer()
  std::string head = "embed";
  int threads = 0;  // encoder threads, 0: all cores
};

struct BuildOptions {
  std::filesystem::path entries_dir;  // empty: default_entries_dir()
  std::filesystem::path out;          // empty: default_kb_build_target()
  EmbedSettings embed;
  LogFn log;
};

struct BuildReport {
  std::filesystem::path out;
  size_t entries = 0, zh = 0, en = 0, embedded = 0;
  std::optional<EmbeddingModel> model;
  double seconds = 0, embed_seconds = 0;
  uint64_t bytes = 0;
};

// Loads and validates the entries (KbError listing every problem), embeds them when a model is
// given, and writes a fresh KB file: into "<out>.tmp", renamed over `out` at the end, so a failed
// build leaves any earlier file untouched. Throws KbError.
BuildReport build_kb(const BuildOptions& options);

struct ImportOptions {
  std::filesystem::path dir;  // the unpacked MedQuAD folder
  std::filesystem::path out;  // KB file to add to; created when missing
  EmbedSettings embed;
  LogFn log;
};

struct ImportReport {
  std::filesystem::path out;
  bool created = false;      // out did not exist before
  size_t files = 0;          // XML files read (good and bad)
  size_t imported = 0;       // pairs written
  size_t empty_answers = 0;  // pairs skipped: empty answer
  size_t duplicates = 0;     // pairs skipped: an id seen earlier in this import
  size_t embedded = 0;
  std::vector<std::string> bad_files;  // "<path>:<line>: <why>" of files that were skipped
  double seconds = 0;
  uint64_t bytes = 0;
};

// Reads every XML file under `dir`; a malformed file is recorded in bad_files and skipped (the
// import goes on). Entries replace earlier ones with the same id, all in one transaction. When
// `out` holds embeddings, the same model must be given (so every entry has a vector of one
// model); when it has none, no model may be given unless it is new. Throws KbError.
ImportReport import_medquad(const ImportOptions& options);

}  // namespace ds::medical::kb
