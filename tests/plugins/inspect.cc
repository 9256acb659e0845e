// Test plug-in built with the C++ SDK: "inspect.summary" reads every part of the document view
// (path, text, segments, tokens, tensors, existing annotations, options) and writes what it saw
// as the attributes of one annotation, so a test can check the host's view field by field.
#include <string>

#include "ds/plugin.h"

namespace {

class Summary {
 public:
  static ds::sdk::StageInfo spec() {
    return {"summary",
            "describes the document view in one annotation",
            {ds::sdk::option_strings("tensors", {"logits"}, "tensor names to look up"),
             ds::sdk::option_int("limit", 3, "tokens to list", 0, 100)},
            DS_FIELD_TEXT | DS_FIELD_NORMALIZED | DS_FIELD_SEGMENTS | DS_FIELD_TOKENS | DS_FIELD_OUTPUTS |
                DS_FIELD_ANNOTATIONS,
            DS_FIELD_ANNOTATIONS};
  }

  explicit Summary(const ds::sdk::Config& config)
      : tensors_(config.get_strings("tensors")), limit_(config.get_int("limit")), instance_(config.instance_name()) {}

  void process(ds::sdk::DocumentView& doc, ds::sdk::Output& out) {
    std::string segments, tokens, tensors, annotations;
    for (const auto& s : doc.segments())
      segments += std::string(s.kind) + ":" + std::string(s.number) + ":" + std::to_string(s.level) + ":" +
                  std::string(s.text) + ";";
    for (size_t i = 0; i < doc.token_count() && static_cast<int64_t>(i) < limit_; ++i) {
      auto t = doc.token(i);
      tokens += std::to_string(t.id) + "@" + std::to_string(t.begin) + "-" + std::to_string(t.end) + ";";
    }
    for (const std::string& name : tensors_) {
      auto t = doc.tensor(name);
      if (!t) {
        tensors += name + "=none;";
        continue;
      }
      double sum = 0;
      for (float v : t->data) sum += v;
      tensors += name + "[";
      for (int64_t d : t->shape) tensors += std::to_string(d) + ",";
      tensors += "]=" + std::to_string(static_cast<int>(sum));
      for (std::string_view label : t->labels) tensors += "|" + std::string(label);
      if (!t->labels.empty()) tensors += "@" + std::to_string(t->label_index(t->labels.back()));
      tensors += ";";
    }
    for (size_t i = 0; i < doc.annotation_count(); ++i) {
      auto a = doc.annotation(i);
      annotations += std::string(a.label) + "@" + std::to_string(a.begin) + "-" + std::to_string(a.end) + "{";
      for (const auto& [k, v] : a.attributes) annotations += std::string(k) + "=" + std::string(v) + ",";
      annotations += "}" + std::string(a.stage) + ";";
    }
    out.warn("inspected by " + instance_);
    out.add("summary", 0, doc.normalized().size(), 0.5,
            {{"path", std::string(doc.path())},
             {"text", std::string(doc.text())},
             {"segments", segments},
             {"tokens", tokens},
             {"tensors", tensors},
             {"annotations", annotations}});
  }

 private:
  std::vector<std::string> tensors_;
  int64_t limit_;
  std::string instance_;
};

}  // namespace

DS_PLUGIN(ds::sdk::Plugin("inspect", "0.0.1", "MIT", "reads the whole document view").stage<Summary>())
