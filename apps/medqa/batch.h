// medqa --batch: questions from a file (or stdin), one per line, as plain text or as JSONL objects
// with `id` and `text`, answered one by one; with --json, one object per question in the schema of
// apps/medqa/README.md ("Batch JSON"), the input `deepseek eval triage --pred` scores.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "answer.h"

namespace ds::medqa {

// One batch input line, read. A line that is a JSON object with a string `text` is JSONL (its `id`,
// a string or an integer, names it; without one the line number does); any other line is the
// question itself, named by its line number. Detected per line, so a file may mix both.
struct BatchItem {
  std::string id;
  std::string text;
  bool jsonl = false;
};

// `line` without its newline; `line_number` from 1. nullopt for a blank line (skipped, no output).
std::optional<BatchItem> parse_batch_line(std::string_view line, size_t line_number);

// The answer in the batch schema: id, lang, triage, triage_scores, red_flags [{id, level,
// rationale, matched, hedged?}], department, department_zh, department_en, answer {id, title, text,
// source} (null when no knowledge-base entry matched), path, latency_ms; and also question, advice,
// model_level, raised_by, emergency_number / crisis_line (when set), disclaimer (emergency only).
// A pipeline failure gives {id, question, error: "failed", stage, message}.
nlohmann::ordered_json batch_json(const Answer& a, const std::string& id);

// {id, error, message} for a refused line (`error` as check_question's codes).
nlohmann::ordered_json batch_refusal_json(const std::string& id, const std::string& code, const std::string& message);

// The knowledge-base answer's text as one string: the self-care steps and when to see a doctor, in
// the answer's language ("Self-care:\n- ...\nSee a doctor:\n- Emergency: ...").
std::string answer_text(const Answer& a, const KbHit& hit);

// The one-line disclaimer shown at the start and with every emergency, both languages.
extern const char* const kEmergencyDisclaimer;

}  // namespace ds::medqa
