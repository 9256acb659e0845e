#include "batch.h"

#include <cmath>

#include "answer.h"

namespace ds::medqa {

namespace {

using json = nlohmann::ordered_json;

json parsed(const std::string& text, json fallback) {
  if (text.empty()) return fallback;
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

double round_ms(double ms) { return std::round(ms * 100) / 100; }

std::string level_word(const std::string& level, bool zh) {
  if (level == "emergency") return zh ? "紧急" : "Emergency";
  if (level == "urgent") return zh ? "24小时内" : "Within 24 h";
  if (level == "routine") return zh ? "门诊" : "Routine";
  if (level == "self_care") return zh ? "居家" : "Self-care";
  return level;
}

}  // namespace

const char* const kEmergencyDisclaimer =
    "Not a diagnosis: call 120 (China) / 911 (US) now; do not wait for this app. "
    "本程序不构成诊断：请立即拨打120（美国911），不要等待。";

std::optional<BatchItem> parse_batch_line(std::string_view line, size_t line_number) {
  const size_t first = line.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return std::nullopt;
  BatchItem item{std::to_string(line_number), std::string(line), false};
  if (line[first] == '{') {
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("text") && j["text"].is_string()) {
      item.jsonl = true;
      item.text = j["text"].get<std::string>();
      if (auto it = j.find("id"); it != j.end()) {
        if (it->is_string()) item.id = it->get<std::string>();
        else if (it->is_number_integer()) item.id = std::to_string(it->get<int64_t>());
      }
    }
  }
  return item;
}

std::string answer_text(const Answer& a, const KbHit& hit) {
  const bool zh = a.language() == "zh";
  std::string out;
  std::vector<std::string> steps = lines_of(hit.get("self_care"));
  if (!steps.empty()) {
    out += zh ? "自我护理：" : "Self-care:";
    for (const std::string& s : steps) out += "\n- " + s;
  }
  json when = parsed(hit.get("see_doctor_when"), json::array());
  std::string doctor;
  if (when.is_array()) {
    for (const json& w : when) {
      if (!w.is_object()) continue;
      const std::string level = w.value("level", ""), text = w.value("when", "");
      doctor += "\n- " + (level.empty() ? text : level_word(level, zh) + (zh ? "：" : ": ") + text);
    }
  }
  if (!doctor.empty()) out += (out.empty() ? "" : "\n") + std::string(zh ? "何时就医：" : "See a doctor:") + doctor;
  return out;
}

json batch_refusal_json(const std::string& id, const std::string& code, const std::string& message) {
  return json{{"id", id}, {"error", code}, {"message", message}};
}

json batch_json(const Answer& a, const std::string& id) {
  json j{{"id", id}};
  if (a.failed()) {
    j["question"] = a.question;
    j["error"] = "failed";
    j["stage"] = a.failed_stage;
    j["message"] = a.error;
    return j;
  }
  j["lang"] = a.language();
  j["triage"] = a.get("level");
  j["triage_scores"] = parsed(a.get("model_probs"), json::object());
  json flags = json::array();
  for (const RedFlag& r : a.red_flags) {
    json f{{"id", r.rule}, {"level", r.level}, {"rationale", r.rationale}, {"matched", r.matched}};
    if (r.hedged) f["hedged"] = true;
    flags.push_back(f);
  }
  j["red_flags"] = flags;
  j["department"] = a.get("department");
  j["department_zh"] = a.get("department_name_zh");
  j["department_en"] = a.get("department_name_en");
  if (a.answers.empty()) {
    j["answer"] = nullptr;
  } else {
    const KbHit& top = a.answers.front();
    j["answer"] = {{"id", top.get("entry")},
                   {"title", top.get("title")},
                   {"text", answer_text(a, top)},
                   {"source", top.get("source")}};
  }
  j["path"] = a.path;
  j["latency_ms"] = round_ms(a.latency_ms);
  j["question"] = a.question;
  j["advice"] = a.get("advice");
  j["model_level"] = a.get("model_level");
  j["raised_by"] = split_commas(a.get("raised_by"));
  if (!a.get("emergency_number").empty()) j["emergency_number"] = a.get("emergency_number");
  if (!a.get("crisis_line").empty()) j["crisis_line"] = a.get("crisis_line");
  if (a.get("level") == "emergency") j["disclaimer"] = kEmergencyDisclaimer;
  return j;
}

}  // namespace ds::medqa
