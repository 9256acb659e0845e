// Embedding passages and queries with a Deepseek model, through the framework's own normalize ->
// tokenize -> model.encode stages (the code a pipeline runs), so a KB vector and the vector a
// pipeline's model.encode gives a question are computed the same way.
//
// Links ds_framework: for the CLI, tests and apps, not for the medical plug-in.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kb_file.h"
#include "kb_search.h"

namespace ds::medical::kb {

class Embedder {
 public:
  // Loads `model` (a .safetensors file with an `embedding` head named `head`) and the tokenizer it
  // was trained with. `threads` are the encoder's compute threads (0: all cores). Throws KbError
  // naming the file: the model does not load, has no such head, or was trained with another tokenizer.
  Embedder(const std::filesystem::path& model, const std::filesystem::path& tokenizer,
           const std::string& head = "embed", int threads = 0);
  ~Embedder();
  Embedder(const Embedder&) = delete;
  Embedder& operator=(const Embedder&) = delete;

  // The model as a KB records it (sha256 of the file, path, head, dim).
  const EmbeddingModel& model() const { return model_; }

  // One vector of model().dim floats per text, in order (L2-normalized by the head; an empty text
  // gives zeros). `progress(done, total)` is called after each batch. Throws KbError if a text
  // cannot be encoded (e.g. token ids outside the model's vocabulary).
  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts,
                                        const std::function<void(size_t, size_t)>& progress = {});

  QueryVector embed_query(std::string_view text);

 private:
  struct Stages;
  std::unique_ptr<Stages> stages_;
  EmbeddingModel model_;
};

}  // namespace ds::medical::kb
