// The stage API: what a pipeline step declares and does.
//
// A stage is created once per worker thread from its resolved options, so `process` needs no
// locking of its own state. Throwing from `process` marks that one document failed with the stage's
// name and the exception's message; the batch goes on.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ds/document.h"
#include "ds/options.h"

namespace ds {

// The parts of a document a stage can read or add. The reader always provides kBytes.
enum class Field { kBytes, kText, kNormalized, kSegments, kTokens, kOutputs, kAnnotations };

const char* to_string(Field field);

struct StageSpec {
  std::string name;  // registry name, e.g. "decode", "legal.clauses"
  std::string doc;   // one line
  std::vector<OptionSpec> options;
  std::vector<Field> reads;
  std::vector<Field> adds;
  std::string provider = "builtin";  // "builtin" or the plug-in's name
};

// What a stage instance knows about where it runs.
struct StageContext {
  std::string instance_name;           // the stage's name as written in the YAML
  std::filesystem::path base_dir;      // the YAML file's folder
  int worker = 0;                      // worker index, 0..threads-1
};

class Stage {
 public:
  virtual ~Stage() = default;

  // Processes one document. Throws on failure (std::exception's what() becomes the error).
  virtual void process(Document& doc) = 0;

  // Processes a batch of documents that have not failed. The default calls process() on each one
  // and marks those that throw; stages that gain from batching (the model) override it and must
  // mark per-document failures themselves.
  virtual void process_batch(std::span<Document* const> docs, const std::string& stage_name);
};

using StageFactory = std::function<std::unique_ptr<Stage>(const Options&, const StageContext&)>;

}  // namespace ds
