#include "tokenize/tokenizer.h"

#include <sentencepiece_processor.h>

#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>

#include "core/registry.h"

namespace ds {

Tokenizer::Tokenizer(const std::string& model_path) : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  auto status = sp_->Load(model_path);
  if (!status.ok()) throw std::runtime_error("[tokenize] cannot load " + model_path + ": " + status.ToString());
}

Tokenizer::~Tokenizer() = default;

int Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }
std::string Tokenizer::piece(int id) const { return sp_->IdToPiece(id); }

std::vector<float> Tokenizer::unigram_log_probs() const {
  std::vector<float> out(static_cast<size_t>(sp_->GetPieceSize()));
  for (int id = 0; id < sp_->GetPieceSize(); ++id) {
    const bool special = sp_->IsControl(id) || sp_->IsUnknown(id) || sp_->IsUnused(id) || sp_->IsByte(id);
    out[static_cast<size_t>(id)] = special ? std::numeric_limits<float>::quiet_NaN() : sp_->GetScore(id);
  }
  return out;
}

void Tokenizer::encode(std::string_view text, size_t base, std::vector<Token>& out) const {
  // SentencePiece drops input longer than its internal limits poorly and scales with line length,
  // so encode one line at a time; newlines themselves are whitespace and produce no token.
  size_t line_start = 0;
  while (line_start < text.size()) {
    size_t nl = text.find('\n', line_start);
    size_t line_end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(line_start, line_end - line_start);
    if (!line.empty()) {
      auto proto = sp_->EncodeAsImmutableProto(line);
      size_t first = out.size();
      for (const auto& p : proto.pieces())
        out.push_back({static_cast<int32_t>(p.id()), {base + line_start + p.begin(), base + line_start + p.end()}});
      // SentencePiece gives the character's span to the last byte-fallback piece of a character
      // and empty spans to the ones before it: give every piece of the character the whole span.
      for (size_t i = out.size(); i-- > first + 1;) {
        Token& prev = out[i - 1];
        if (prev.span.begin == prev.span.end && prev.span.begin == out[i].span.begin && sp_->IsByte(prev.id) &&
            sp_->IsByte(out[i].id))
          prev.span = out[i].span;
      }
    }
    line_start = line_end + 1;
  }
}

namespace {

// Tokenizers are shared by the per-worker stage instances: loading one per worker wastes memory.
std::shared_ptr<const Tokenizer> shared_tokenizer(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<const Tokenizer>> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (auto t = cache[path].lock()) return t;
  auto t = std::make_shared<const Tokenizer>(path);
  cache[path] = t;
  return t;
}

class TokenizeStage : public Stage {
 public:
  TokenizeStage(std::shared_ptr<const Tokenizer> tokenizer, int64_t max_tokens)
      : tokenizer_(std::move(tokenizer)), max_tokens_(max_tokens) {}

  void process(Document& doc) override {
    doc.tokens.clear();
    tokenizer_->encode(doc.normalized, 0, doc.tokens);
    if (max_tokens_ > 0 && static_cast<int64_t>(doc.tokens.size()) > max_tokens_) {
      doc.warnings.push_back("[tokenize] " + std::to_string(doc.tokens.size()) + " tokens truncated to max_tokens=" +
                             std::to_string(max_tokens_));
      doc.tokens.resize(static_cast<size_t>(max_tokens_));
    }
  }

 private:
  std::shared_ptr<const Tokenizer> tokenizer_;
  int64_t max_tokens_;
};

}  // namespace

void register_tokenizer_stage(Registry& registry) {
  StageSpec spec;
  spec.name = "tokenize";
  spec.doc = "SentencePiece tokenization of the normalized text; token spans point into it";
  spec.options = {
      opt_path("model", std::nullopt, "SentencePiece .model file"),
      opt_int("max_tokens", 0, "keep at most this many tokens per document (0: no limit)", 0, 1e9),
  };
  spec.reads = {Field::kNormalized};
  spec.adds = {Field::kTokens};
  registry.add_stage(spec, [](const Options& o, const StageContext&) -> std::unique_ptr<Stage> {
    return std::make_unique<TokenizeStage>(shared_tokenizer(o.get_string("model")), o.get_int("max_tokens"));
  });
}

}  // namespace ds
