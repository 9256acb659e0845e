// medical.answer: looks the patient's question up in the medical knowledge base (data/kb, a KB
// file built by `deepseek kb build`) and adds one `kb_answer` annotation per hit.
#pragma once

#include <memory>
#include <string>

#include "ds/plugin.h"
#include "kb_search.h"

namespace ds::medical {

class AnswerStage {
 public:
  static ds::sdk::StageInfo spec();

  // Opens the KB file read-only (one connection per stage instance; the host uses an instance
  // from one thread at a time, so nothing is shared between threads). Throws if the file is
  // missing or not a KB, or if `model` is set and is not the model the KB's vectors came from.
  explicit AnswerStage(const ds::sdk::Config& config);

  void process(ds::sdk::DocumentView& doc, ds::sdk::Output& out);

 private:
  std::unique_ptr<kb::KnowledgeBase> kb_;
  size_t top_k_;
  kb::LangMode lang_;
  std::string embedding_;     // tensor (head) name holding the question's vector
  std::string model_sha256_;  // of option `model`; empty when not set
};

}  // namespace ds::medical
