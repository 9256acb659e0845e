// One knowledge-base entry, as written by the project (data/kb/entries/*.yaml, format in
// data/kb/schema.md) or imported from a MedQuAD question-answer pair, and the text embedded for it.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace ds::medical::kb {

// A failure that ends a KB operation (unreadable or invalid input, a KB file that does not open,
// a model that does not fit). what() starts with "[medical.kb]" and names the file (and, for YAML,
// the line and key).
class KbError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SeeDoctor {
  std::string level;  // "emergency" | "urgent" | "routine"
  std::string when;
};

struct Entry {
  std::string id;                      // "kb-neuro-002"; imported: "medquad:<folder>:<qid>"
  std::string kind = "entry";          // "entry" (written by us) or "medquad" (imported pair)
  std::string lang;                    // "zh" | "en"
  std::string translation_of;          // id of the original in the other language; may be empty
  std::string title;                   // imported: the question
  std::vector<std::string> aliases;    // imported: the question focus and its synonyms
  std::vector<std::string> symptoms;   // imported: empty
  std::vector<std::string> self_care;  // imported: empty
  std::vector<SeeDoctor> see_doctor_when;
  std::string department;     // one of the 18 keys of schema.md; imported: empty
  std::string usual_urgency;  // "emergency" | "urgent" | "routine" | "self_care"; imported: empty
  std::vector<std::string> red_flags;
  std::string source;
  std::string reviewer;
  std::string updated;  // "YYYY-MM-DD"; imported: empty
  std::string body;     // imported: the answer; ours: empty
  std::string qtype;    // imported: MedQuAD question type ("symptoms", "treatment", ...)
  std::string url;      // imported: the page the pair came from
  std::string origin;   // where it was read: "neurology.yaml:38", "1_CancerGov_QA/0000001_1.xml"
};

// The text embedded for an entry (and only this text, so a KB is reproducible from its inputs):
// ours: title + "\n" + join(aliases, "; ") + "\n" + join(symptoms, "; ");
// imported: question (title) + "\n" + answer (body).
std::string passage_text(const Entry& entry);

// `items` joined by `separator`.
std::string join(const std::vector<std::string>& items, const std::string& separator);

}  // namespace ds::medical::kb
