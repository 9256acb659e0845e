#include "cli_options.h"

namespace ds::medqa {

const char* const kHelp = R"(usage: medqa [options] [QUESTION...]

Health questions in Chinese or English, answered offline: a triage level (emergency, urgent,
routine, self_care), the emergency number when it is an emergency, the department (科室) to see,
the knowledge-base answer with its source, and the red flags that fired. Not a diagnosis: in an
emergency call 120 (China) / 911 (US) at once.

  medqa                                   interactive (when stdin is a terminal)
  medqa "my 2-year-old has had a fever of 39.5 for two days"
  cat questions.txt | medqa --json        one question per line, one JSON object per line
  medqa --batch questions.jsonl --json    a file of questions (plain lines, or JSONL with id and text)

options:
  --batch FILE          answer every line of FILE ("-": stdin): plain text, or JSONL objects with
                        "text" and "id" (detected per line; without an id, the line number)
  --json                one JSON object per question per line (fields: apps/medqa/README.md;
                        with --batch the batch schema that `deepseek eval triage` reads)
  --lang auto|zh|en     language of the answers (default auto: by the question's script)
  --path light|standard|heavy|auto
                        the model's computation path (default: the pipeline's)
  --pipeline FILE       pipeline to run (default: pipelines/medical_qa.yaml)
  --model FILE          medical model file (default: the pipeline's; $DS_MEDICAL_MODEL in medical_qa.yaml)
  --kb FILE             knowledge-base file from `deepseek kb build` (default: the pipeline's;
                        $DS_MEDICAL_KB in medical_qa.yaml, else data/kb/medical-kb.sqlite)
  --plugin-path DIR     also search DIR for plug-ins (before DS_PLUGIN_PATH)
  -h, --help            show this help
  --version             show the version

commands (interactive or on a line of their own in piped input):
  :why                  why the last answer: model probabilities, departments, rules, path, KB hits
  :path light|standard|heavy|auto
                        switch the model's computation path
  :lang zh|en|auto      the answers' language (auto: by the question's script)
  :new                  the next line is a new question, not a follow-up of the last one
  :history              the lines typed (kept in $XDG_STATE_HOME/deepseek/medqa_history)
  :json                 switch JSON output on or off
  :help                 this list
  :quit                 leave (also :q, :exit, Ctrl-D)

exit codes: 0 ok (questions refused as empty, unreadable or too long included), 1 runtime error
            (the pipeline could not start, or a question could not be answered), 2 usage or
            configuration error
)";

namespace {

void check_choice(const std::string& flag, const std::string& value, const std::vector<std::string>& choices) {
  for (const std::string& c : choices)
    if (value == c) return;
  std::string list;
  for (const std::string& c : choices) list += (list.empty() ? "" : ", ") + c;
  throw UsageError(flag + " expects one of " + list + ", got '" + value + "'");
}

}  // namespace

MedqaOptions parse_options(const std::vector<std::string>& args) {
  MedqaOptions o;
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string s = args[i];
    std::string inline_value;
    bool has_inline = false;
    if (!options_done && s.rfind("--", 0) == 0 && s.find('=') != std::string::npos) {
      inline_value = s.substr(s.find('=') + 1);
      s = s.substr(0, s.find('='));
      has_inline = true;
    }
    auto value = [&]() -> std::string {
      std::string v;
      if (has_inline)
        v = inline_value;
      else if (i + 1 < args.size())
        v = args[++i];
      if (v.empty()) throw UsageError(s + " needs a value");
      return v;
    };
    auto no_value = [&] {
      if (has_inline) throw UsageError(s + " takes no value");
    };
    if (options_done || s.empty() || s[0] != '-' || s == "-") {
      o.questions.push_back(args[i]);
    } else if (s == "--") {
      options_done = true;
    } else if (s == "-h" || s == "--help") {
      no_value();
      o.help = true;
    } else if (s == "--version") {
      no_value();
      o.version = true;
    } else if (s == "--batch") {
      o.batch = value();
    } else if (s == "--json") {
      no_value();
      o.json = true;
    } else if (s == "--lang") {
      o.lang = value();
      check_choice(s, o.lang, {"auto", "zh", "en"});
    } else if (s == "--path") {
      o.path = value();
      check_choice(s, o.path, {"light", "standard", "heavy", "auto"});
    } else if (s == "--pipeline") {
      o.pipeline = value();
    } else if (s == "--model") {
      o.model = value();
    } else if (s == "--kb") {
      o.kb = value();
    } else if (s == "--plugin-path") {
      o.plugin_path = value();
    } else {
      throw UsageError("unknown option '" + s + "' (see medqa --help)");
    }
  }
  if (!o.batch.empty() && !o.questions.empty())
    throw UsageError("--batch reads its questions from FILE; give no questions as arguments");
  return o;
}

}  // namespace ds::medqa
