// SentencePiece tokenization with exact offsets into the text that was encoded.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ds/document.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace ds {

// A loaded SentencePiece model. Encoding is const and thread-safe (SentencePiece's processor is).
class Tokenizer {
 public:
  // Throws std::runtime_error("[tokenize] cannot load <path>: <status>").
  explicit Tokenizer(const std::string& model_path);
  ~Tokenizer();

  // Encodes `text`; token spans are byte offsets into `text` plus `base`. Byte-fallback pieces of
  // one character all carry that character's span. Long inputs are encoded line by line.
  void encode(std::string_view text, size_t base, std::vector<Token>& out) const;

  int vocab_size() const;
  std::string piece(int id) const;

  // The unigram model's natural-log probability of every piece id (the SentencePiece piece
  // scores), NaN for pieces without one (control symbols, <unk>, unused and byte-fallback pieces).
  // The router's complexity features read it (model/complexity_features.h, UnigramTable).
  std::vector<float> unigram_log_probs() const;

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
};

// Registers the "tokenize" stage (reads normalized text, adds tokens).
class Registry;
void register_tokenizer_stage(Registry& registry);

}  // namespace ds
