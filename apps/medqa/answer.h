// One answered question as medqa shows it: read from the document's annotations (`triage` of
// medical.triage, `red_flag` of medical.redflags, `kb_answer` of medical.answer), printed as text
// for people or as one JSON object per line for programs.
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ds/document.h"

namespace ds::medqa {

struct RedFlag {
  std::string rule, level, matched, rationale;
  bool hedged = false;
};

struct KbHit {
  double score = 0;
  std::map<std::string, std::string> attributes;  // entry, title, self_care, source, ...
  std::string get(const std::string& key) const {
    auto it = attributes.find(key);
    return it == attributes.end() ? "" : it->second;
  }
};

struct Answer {
  int number = 0;  // the question's number in this session, from 1
  std::string question;
  std::string path;  // the model's computation path used ("" without a model)
  double latency_ms = 0;
  std::vector<std::pair<std::string, double>> stage_ms;
  std::vector<std::string> warnings;

  // A pipeline failure: the stage and message (then nothing below is set).
  std::string failed_stage, error;

  std::map<std::string, std::string> triage;  // the `triage` annotation's attributes; empty if none
  std::vector<RedFlag> red_flags;             // one per rule, in text order
  std::vector<KbHit> answers;                 // best first

  bool failed() const { return !error.empty(); }
  std::string get(const std::string& key) const {
    auto it = triage.find(key);
    return it == triage.end() ? "" : it->second;
  }
  std::string language() const;  // "zh" | "en"
};

// Reads the answer's parts from a processed document.
Answer read_answer(const Document& doc, int number, const std::string& question, const std::string& path,
                   double latency_ms, std::vector<std::pair<std::string, double>> stage_ms);

// One JSON object (fields: apps/medqa/README.md).
nlohmann::ordered_json to_json(const Answer& a);
// {"n", "question", "error", "message"} for a question that was refused or failed.
nlohmann::ordered_json refusal_json(int number, const std::string& question, const std::string& code,
                                    const std::string& message);
// JSON text on one line; invalid UTF-8 in strings is replaced, never thrown on.
std::string json_line(const nlohmann::ordered_json& j);

struct Style {
  bool colour = false;    // ANSI colours (a terminal that wants them)
  bool kb_stage = false;  // the pipeline looks answers up (says so when none matched)
};

// The answer for people: level and advice, emergency number, department, KB answer, red flags,
// latency; in the question's language.
void print_answer(std::ostream& out, const Answer& a, const Style& style);
// Why: model probabilities per level, the model's top departments, rules fired and which raised
// the level, thresholds, path, KB hits with scores and method, time per stage.
void print_why(std::ostream& out, const Answer& a, const std::map<std::string, std::string>& settings);
// The same as a JSON object.
nlohmann::ordered_json why_json(const Answer& a, const std::map<std::string, std::string>& settings);

// The non-empty lines of `text` (KB fields keep one step per line).
std::vector<std::string> lines_of(const std::string& text);

}  // namespace ds::medqa
