#include "answer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace ds::medqa {

namespace {

using json = nlohmann::ordered_json;

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

// A JSON attribute of the triage annotation, parsed; `fallback` when absent or not JSON.
json parsed(const std::string& text, json fallback) {
  if (text.empty()) return fallback;
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

std::string ms_text(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 10 ? "%.2f" : "%.1f", ms);
  return buf;
}

std::string prob_text(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", p);
  return buf;
}

// A number written as text, as a JSON number (the text itself if it is not one).
json number_json(const std::string& text) {
  try {
    size_t used = 0;
    double v = std::stod(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  return text;
}

double round_ms(double ms) { return static_cast<double>(static_cast<int64_t>(ms * 100 + 0.5)) / 100; }

// Labels of the printed answer, per language.
struct Words {
  const char* emergency;
  const char* urgent;
  const char* routine;
  const char* self_care;
  const char* number;
  const char* crisis;
  const char* department;
  const char* answer;
  const char* self_care_steps;
  const char* see_doctor;
  const char* source;
  const char* reviewer;
  const char* also;
  const char* red_flags;
  const char* hedged;
  const char* no_answer;
  const char* colon;
  const char* do_now;  // the KB's steps when the level is emergency: first aid while help comes
};

const Words kEn = {"EMERGENCY", "URGENT", "ROUTINE", "SELF-CARE",
                   "Emergency number", "Crisis line", "Department", "Answer", "Self-care", "See a doctor",
                   "Source", "reviewer", "Also", "Red flag", "hedged", "No knowledge-base entry matched.", ": ", "What to do now"};
const Words kZh = {"紧急", "尽快就医", "门诊预约", "居家护理", "急救电话", "心理援助热线", "科室",
                   "参考", "自我护理", "何时就医", "来源", "审核", "相关", "危险信号", "含推测语气",
                   "知识库中没有匹配的条目。", "：", "现在该做什么"};

const Words& words(const std::string& language) { return language == "zh" ? kZh : kEn; }

const char* level_words(const Words& w, const std::string& level) {
  if (level == "emergency") return w.emergency;
  if (level == "urgent") return w.urgent;
  if (level == "routine") return w.routine;
  if (level == "self_care") return w.self_care;
  return "?";
}

// ANSI SGR codes per level: bold red, bold yellow, cyan, green.
const char* level_colour(const std::string& level) {
  if (level == "emergency") return "\x1b[1;37;41m";
  if (level == "urgent") return "\x1b[1;33m";
  if (level == "routine") return "\x1b[36m";
  return "\x1b[32m";
}

std::string paint(const Style& style, const char* code, const std::string& text) {
  return style.colour ? std::string(code) + text + "\x1b[0m" : text;
}

// A field that may hold several lines or "; "-separated items, printed as an indented list.
void print_items(std::ostream& out, const std::string& label, const std::string& text, const std::string& indent,
                 const char* colon) {
  if (text.empty()) return;
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    std::string item = text.substr(start, nl - start);
    if (!item.empty()) items.push_back(item);
    start = nl + 1;
  }
  if (items.size() == 1) {
    out << indent << label << colon << items[0] << "\n";
    return;
  }
  std::string heading = std::string(label) + colon;
  while (!heading.empty() && heading.back() == ' ') heading.pop_back();
  out << indent << heading << "\n";
  for (const std::string& item : items) out << indent << "  - " << item << "\n";
}

// A level as a short word for the "when to see a doctor" lines.
std::string level_short(const std::string& language, const std::string& level) {
  static const std::map<std::string, std::pair<const char*, const char*>> words = {
      {"emergency", {"Emergency", "紧急"}}, {"urgent", {"Within 24 h", "24小时内"}},
      {"routine", {"Routine", "门诊"}}, {"self_care", {"Self-care", "居家"}}};
  auto it = words.find(level);
  if (it == words.end()) return level;
  return language == "zh" ? it->second.second : it->second.first;
}

// medical.answer's see_doctor_when: a JSON list of {level, when}, one line each ("Emergency: ...").
// Plain text passes through.
std::string see_doctor_text(const std::string& text, const std::string& language) {
  json list = json::parse(text, nullptr, false);
  if (list.is_discarded() || !list.is_array()) return text;
  std::string out;
  for (const json& item : list) {
    if (!item.is_object()) continue;
    const std::string level = item.value("level", ""), when = item.value("when", "");
    out += (out.empty() ? "" : "\n") +
           (level.empty() ? when : level_short(language, level) + (language == "zh" ? "：" : ": ") + when);
  }
  return out;
}

// At most `max_bytes` of `text` on one line, cut at a character boundary, "..." when cut.
std::string excerpt(const std::string& text, size_t max_bytes) {
  std::string one = text;
  std::replace(one.begin(), one.end(), '\n', ' ');
  if (one.size() <= max_bytes) return one;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(one[end]) & 0xC0) == 0x80) --end;
  return one.substr(0, end) + "...";
}

}  // namespace

std::string Answer::language() const { return get("language") == "zh" ? "zh" : "en"; }

Answer read_answer(const Document& doc, int number, const std::string& question, const std::string& path,
                   double latency_ms, std::vector<std::pair<std::string, double>> stage_ms) {
  Answer a;
  a.number = number;
  a.question = question;
  a.path = path;
  a.latency_ms = latency_ms;
  a.stage_ms = std::move(stage_ms);
  a.warnings = doc.warnings;
  if (doc.failed()) {
    a.failed_stage = doc.failed_stage;
    a.error = doc.error.empty() ? "failed" : doc.error;
    return a;
  }
  for (const Annotation& an : doc.annotations) {
    auto attr = [&](const char* key) {
      auto it = an.attributes.find(key);
      return it == an.attributes.end() ? std::string() : it->second;
    };
    if (an.label == "triage") {
      a.triage = an.attributes;
    } else if (an.label == "red_flag") {
      const std::string rule = attr("rule");
      if (std::none_of(a.red_flags.begin(), a.red_flags.end(), [&](const RedFlag& r) { return r.rule == rule; }))
        a.red_flags.push_back({rule, attr("level"), attr("matched"), attr("rationale"), attr("hedged") == "true"});
    } else if (an.label == "kb_answer") {
      a.answers.push_back({an.score, an.attributes});
    }
  }
  // model.encode with path: auto records the path it chose; the triage annotation repeats it.
  if (!a.get("path").empty()) a.path = a.get("path");
  std::stable_sort(a.answers.begin(), a.answers.end(), [](const KbHit& x, const KbHit& y) { return x.score > y.score; });
  return a;
}

std::string json_line(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json refusal_json(int number, const std::string& question, const std::string& code, const std::string& message) {
  return json{{"n", number}, {"question", question}, {"error", code}, {"message", message}};
}

json to_json(const Answer& a) {
  json j{{"n", a.number}, {"question", a.question}};
  if (a.failed()) {
    j["error"] = "failed";
    j["stage"] = a.failed_stage;
    j["message"] = a.error;
    j["latency_ms"] = round_ms(a.latency_ms);
    return j;
  }
  j["language"] = a.language();
  j["level"] = a.get("level");
  j["advice"] = a.get("advice");
  if (!a.get("emergency_number").empty()) j["emergency_number"] = a.get("emergency_number");
  if (!a.get("crisis_line").empty()) j["crisis_line"] = a.get("crisis_line");
  j["department"] = a.get("department");
  j["department_name"] = a.get("department_name");
  j["model_level"] = a.get("model_level");
  j["model_probs"] = parsed(a.get("model_probs"), json::object());
  j["departments_top"] = parsed(a.get("departments_top"), json::array());
  j["raised_by"] = split_commas(a.get("raised_by"));
  j["rules_fired"] = split_commas(a.get("rules_fired"));
  json flags = json::array();
  for (const RedFlag& r : a.red_flags) {
    json f{{"rule", r.rule}, {"level", r.level}, {"matched", r.matched}, {"rationale", r.rationale}};
    if (r.hedged) f["hedged"] = true;
    flags.push_back(f);
  }
  j["red_flags"] = flags;
  json answers = json::array();
  for (const KbHit& h : a.answers) {
    json e = json::object();
    for (const char* key : {"entry", "title", "score", "method", "department", "usual_urgency", "self_care",
                            "see_doctor_when", "source", "reviewer"}) {
      const std::string k = key;
      if (k == "score") e[key] = std::round(h.score * 1e4) / 1e4;
      else if (k == "see_doctor_when") e[key] = parsed(h.get(key), json(h.get(key)));
      else if (k == "self_care") e[key] = lines_of(h.get(key));
      else e[key] = h.get(key);
    }
    for (const char* key : {"lang", "answer", "url"})
      if (!h.get(key).empty()) e[key] = h.get(key);
    answers.push_back(e);
  }
  j["answers"] = answers;
  j["path"] = a.path;
  if (!a.get("router_score").empty()) j["router_score"] = number_json(a.get("router_score"));
  j["latency_ms"] = round_ms(a.latency_ms);
  json times = json::object();
  for (const auto& [stage, ms] : a.stage_ms) times[stage] = round_ms(ms);
  j["stage_ms"] = times;
  if (!a.warnings.empty()) j["warnings"] = a.warnings;
  return j;
}

void print_answer(std::ostream& out, const Answer& a, const Style& style) {
  if (a.failed()) {
    out << "medqa: could not answer: " << a.error << "\n"
        << "medqa: if this may be an emergency, call 120 (China) / 911 (US) now. 如可能是急症，请立即拨打120。\n";
    return;
  }
  const Words& w = words(a.language());
  const std::string level = a.get("level");
  if (level.empty()) {
    out << "medqa: the pipeline gave no triage (is medical.triage in it?)\n";
  } else {
    out << paint(style, level_colour(level), std::string(" ") + level_words(w, level) + " ") << " " << a.get("advice")
        << "\n";
  }
  if (const std::string n = a.get("emergency_number"); !n.empty())
    out << "  " << paint(style, "\x1b[1;31m", std::string(w.number) + w.colon + n) << "\n";
  if (const std::string c = a.get("crisis_line"); !c.empty()) out << "  " << w.crisis << w.colon << c << "\n";
  if (const std::string d = a.get("department_name"); !d.empty()) out << "  " << w.department << w.colon << d << "\n";

  if (a.answers.empty() && style.kb_stage) out << "  " << w.no_answer << "\n";
  if (!a.answers.empty()) {
    const KbHit& top = a.answers.front();
    out << "  " << w.answer << w.colon << paint(style, "\x1b[1m", top.get("title"));
    if (!top.get("entry").empty()) out << " [" << top.get("entry") << "]";
    out << "\n";
    // In an emergency the one instruction is to call: an entry's home-care steps are shown only
    // when the entry is itself about an emergency (then they are first aid while help comes).
    if (level != "emergency") print_items(out, w.self_care_steps, top.get("self_care"), "    ", w.colon);
    else if (top.get("usual_urgency") == "emergency") print_items(out, w.do_now, top.get("self_care"), "    ", w.colon);
    print_items(out, w.see_doctor, see_doctor_text(top.get("see_doctor_when"), a.language()), "    ", w.colon);
    if (const std::string body = top.get("answer"); !body.empty()) out << "    " << excerpt(body, 400) << "\n";
    std::string source = top.get("source");
    if (!top.get("reviewer").empty()) source += " (" + std::string(w.reviewer) + w.colon + top.get("reviewer") + ")";
    if (!source.empty()) out << "    " << w.source << w.colon << source << "\n";
    for (size_t i = 1; i < a.answers.size() && i < 3; ++i)
      out << "    " << w.also << w.colon << a.answers[i].get("title") << " [" << a.answers[i].get("entry") << "]\n";
  }
  for (const RedFlag& r : a.red_flags) {
    out << "  " << w.red_flags << w.colon << paint(style, "\x1b[1m", r.rule) << " (" << r.level << ") — " << r.rationale;
    if (r.hedged) out << " [" << w.hedged << "]";
    out << "\n";
  }
  out << "  " << paint(style, "\x1b[2m", ms_text(a.latency_ms) + " ms") << "\n";
}

json why_json(const Answer& a, const std::map<std::string, std::string>& settings) {
  json j{{"n", a.number}, {"question", a.question}};
  if (a.failed()) {
    j["error"] = a.error;
    return j;
  }
  j["level"] = a.get("level");
  j["model_level"] = a.get("model_level");
  j["model_probs"] = parsed(a.get("model_probs"), json::object());
  j["departments_top"] = parsed(a.get("departments_top"), json::array());
  j["department"] = a.get("department");
  j["rules_fired"] = split_commas(a.get("rules_fired"));
  j["raised_by"] = split_commas(a.get("raised_by"));
  json s = json::object();
  for (const auto& [k, v] : settings) s[k] = v;
  j["settings"] = s;
  j["path"] = a.path;
  if (!a.get("router_score").empty()) j["router_score"] = number_json(a.get("router_score"));
  json hits = json::array();
  for (const KbHit& h : a.answers)
    hits.push_back({{"entry", h.get("entry")},
                    {"title", h.get("title")},
                    {"score", std::round(h.score * 1e4) / 1e4},
                    {"method", h.get("method")}});
  j["kb_hits"] = hits;
  json times = json::object();
  for (const auto& [stage, ms] : a.stage_ms) times[stage] = round_ms(ms);
  j["stage_ms"] = times;
  j["latency_ms"] = round_ms(a.latency_ms);
  if (!a.warnings.empty()) j["warnings"] = a.warnings;
  return j;
}

void print_why(std::ostream& out, const Answer& a, const std::map<std::string, std::string>& settings) {
  out << "why (question " << a.number << "): " << a.question << "\n";
  if (a.failed()) {
    out << "  failed in " << a.failed_stage << ": " << a.error << "\n";
    return;
  }
  auto setting = [&](const char* key) {
    auto it = settings.find(key);
    return it == settings.end() ? std::string() : it->second;
  };
  json probs = parsed(a.get("model_probs"), json::object());
  out << "  model level:  " << a.get("model_level") << " —";
  for (const auto& [level, p] : probs.items()) out << " " << level << " " << prob_text(p.get<double>());
  out << "\n";
  if (!setting("emergency_threshold").empty())
    out << "                (emergency when P(emergency) >= " << setting("emergency_threshold")
        << "; at least urgent when P(emergency) + P(urgent) >= " << setting("urgent_threshold") << ")\n";
  const std::string raised = a.get("raised_by"), fired = a.get("rules_fired");
  out << "  final level:  " << a.get("level");
  if (!raised.empty()) out << ", raised from " << a.get("model_level") << " by " << raised;
  else out << (fired.empty() ? " (no rule fired)" : " (the rules did not raise it)");
  out << "\n";
  out << "  rules fired:  " << (fired.empty() ? "none" : fired) << "\n";
  out << "  departments:  ";
  json top = parsed(a.get("departments_top"), json::array());
  bool first = true;
  for (const json& d : top) {
    out << (first ? "" : ", ") << d.value("id", "") << " " << prob_text(d.value("p", 0.0));
    first = false;
  }
  out << " (model) -> " << a.get("department") << "\n";
  out << "  path:         " << (a.path.empty() ? "none" : a.path);
  if (!a.get("router_score").empty()) out << " (chosen by the router, score " << a.get("router_score") << ")\n";
  else out << " (fixed by the pipeline or :path)\n";
  out << "  kb hits:      ";
  if (a.answers.empty()) out << "none";
  for (size_t i = 0; i < a.answers.size(); ++i) {
    const KbHit& h = a.answers[i];
    out << (i ? ", " : "") << h.get("entry") << " " << prob_text(h.score) << " (" << h.get("method") << ")";
  }
  for (const std::string& w : a.warnings) out << "\n  warning:      " << w;
  out << "\n  time:         ";
  for (size_t i = 0; i < a.stage_ms.size(); ++i)
    out << (i ? ", " : "") << a.stage_ms[i].first << " " << ms_text(a.stage_ms[i].second);
  out << " ms (total " << ms_text(a.latency_ms) << ")\n";
}

// The non-empty lines of `text`.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    if (nl > start) out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace ds::medqa
