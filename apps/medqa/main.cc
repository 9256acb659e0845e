// medqa: the medical Q&A console. Loads pipelines/medical_qa.yaml once (the model once) and answers
// health questions in Chinese or English: interactively when stdin is a terminal, one question
// per line when stdin is piped, or the questions given as arguments. Not a diagnosis.
#include <unistd.h>

#include <clocale>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>

#include "answer.h"
#include "batch.h"
#include "cli/batch_run.h"
#include "cli_options.h"
#include "line_editor.h"
#include "question.h"
#include "session.h"

namespace ds::medqa {

namespace {

namespace fs = std::filesystem;

constexpr const char* kPipelineFile = "medical_qa.yaml";
constexpr const char* kDisclaimer =
    "medqa: health information, not a diagnosis. In an emergency call 120 (China) / 911 (US) now.\n"
    "medqa: 仅供健康参考，不构成诊断；紧急情况请立即拨打120（美国拨打911）。\n";
constexpr const char* kCommands =
    "commands: :why (why the last answer: rules, scores, path, time), :path light|standard|heavy|auto (computation "
    "path), :lang zh|en|auto (answer language), :new (next line is a new question, not a follow-up), :history "
    "(lines typed), :json (JSON output on/off), :help, :quit (or Ctrl-D)\n";

fs::path executable_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

// --pipeline, else the installed copy next to the program, else the source tree's.
fs::path find_pipeline(const std::string& given) {
  if (!given.empty()) return given;
  std::vector<fs::path> candidates;
  if (fs::path exe = executable_dir(); !exe.empty())
    candidates.push_back(exe / ".." / "share" / "deepseek" / "pipelines" / kPipelineFile);
  candidates.push_back(fs::path(DS_SOURCE_PIPELINES_DIR) / kPipelineFile);
  for (const fs::path& c : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(c, ec)) return c.lexically_normal();
  }
  throw UsageError(std::string("cannot find the pipeline ") + kPipelineFile + " (looked in " +
                   candidates.back().parent_path().string() + "); give it with --pipeline FILE");
}

bool wants_colour() {
  const char* term = std::getenv("TERM");
  return ::isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR") && !(term && std::string(term) == "dumb");
}

class Console {
 public:
  Console(Session& session, bool json, bool interactive, LineEditor* editor = nullptr)
      : session_(session), json_(json), interactive_(interactive), editor_(editor), style_{wants_colour(), false} {
    for (const StageConfig& sc : session.config().stages) style_.kb_stage |= sc.stage == "medical.answer";
  }

  // Handles one input line: a command or a question. Returns false for :quit.
  bool line(const std::string& raw, bool truncated) {
    if (!truncated && valid_utf8(raw)) {
      const std::string text = clean_question(raw);
      if (!text.empty() && text[0] == ':') return command(text);
    }
    question(raw, truncated);
    return true;
  }

  bool any_failed() const { return any_failed_; }

 private:
  void question(const std::string& raw, bool truncated) {
    const int n = ++count_;
    if (std::optional<Refusal> r = check_question(raw, truncated)) {
      if (json_) std::cout << json_line(refusal_json(n, shown(raw, truncated), r->code, r->message)) << std::endl;
      else std::cout << "medqa: question " << n << ": " << r->message << std::endl;
      return;
    }
    std::string q = clean_question(raw);
    // Interactively, a short line that refers back ("it started 2 hours ago") refines the last
    // question: the two are answered together.
    if (interactive_ && !previous_.empty() && looks_like_follow_up(q) &&
        !check_question(previous_ + " " + q).has_value()) {
      q = previous_ + " " + q;
      std::cerr << "medqa: follow-up, answering together with the last question (:new for a fresh one): " << q
                << "\n";
    }
    if (!json_ && !interactive_) std::cout << "\n" << n << "> " << q << "\n";
    Answered done = session_.ask(q, "question " + std::to_string(n));
    last_ = read_answer(done.doc, n, q, session_.path(), done.latency_ms, std::move(done.stage_ms));
    previous_ = last_->failed() ? "" : q;
    if (last_->failed()) any_failed_ = true;
    if (json_) {
      std::cout << json_line(to_json(*last_)) << std::endl;
    } else {
      print_answer(std::cout, *last_, style_);
      if (last_->get("level") == "emergency") std::cout << "  " << kEmergencyDisclaimer << "\n";
      std::cout.flush();
    }
  }

  // The question as JSON can carry it: a refused line only up to a short prefix.
  static std::string shown(const std::string& raw, bool truncated) {
    if (!truncated && raw.size() <= 200) return raw;
    return raw.substr(0, 200) + "...";
  }

  bool command(const std::string& text) {
    std::string name = text.substr(0, text.find(' '));
    std::string arg = text.size() > name.size() ? clean_question(text.substr(name.size())) : "";
    if (name == ":quit" || name == ":q" || name == ":exit") return false;
    if (name == ":help") {
      std::cerr << kCommands;
    } else if (name == ":new") {
      previous_.clear();
      std::cerr << "medqa: the next line is a new question\n";
    } else if (name == ":history") {
      if (!editor_) {
        std::cerr << "medqa: :history lists the lines typed interactively\n";
      } else {
        const auto& h = editor_->history();
        if (h.empty()) std::cerr << "medqa: the history is empty\n";
        for (size_t i = 0; i < h.size(); ++i) std::cout << "  " << i + 1 << "  " << h[i] << "\n";
        std::cout.flush();
      }
    } else if (name == ":lang") {
      if (arg.empty()) {
        std::cerr << "medqa: language " << session_.lang() << " (switch with :lang zh|en|auto)\n";
      } else if (arg != "zh" && arg != "en" && arg != "auto") {
        std::cerr << "medqa: :lang expects zh, en or auto, got '" << arg << "'; language stays " << session_.lang()
                  << "\n";
      } else {
        try {
          session_.set_lang(arg);
          std::cerr << "medqa: language " << session_.lang() << "\n";
        } catch (const std::exception& e) {
          std::cerr << "medqa: " << e.what() << "\nmedqa: language stays " << session_.lang() << "\n";
        }
      }
    } else if (name == ":json") {
      json_ = !json_;
      std::cerr << "medqa: JSON output " << (json_ ? "on" : "off") << "\n";
    } else if (name == ":why") {
      if (!last_) std::cerr << "medqa: :why explains the last answer; ask a question first\n";
      else if (json_) std::cout << json_line(why_json(*last_, settings())) << std::endl;
      else print_why(std::cout, *last_, settings()), std::cout.flush();
    } else if (name == ":path") {
      if (arg.empty()) {
        std::cerr << "medqa: path " << session_.path() << " (switch with :path light|standard|heavy|auto)\n";
        return true;
      }
      try {
        session_.set_path(arg);
        std::cerr << "medqa: path " << session_.path() << "\n";
      } catch (const ConfigErrors& e) {
        for (const ConfigError& err : e.errors()) std::cerr << "medqa: " << err.message << "\n";
        std::cerr << "medqa: path stays " << session_.path() << "\n";
      } catch (const std::exception& e) {
        std::cerr << "medqa: " << e.what() << "\nmedqa: path stays " << session_.path() << "\n";
      }
    } else {
      std::cerr << "medqa: unknown command '" << name << "'; " << kCommands;
    }
    return true;
  }

  std::map<std::string, std::string> settings() const {
    std::map<std::string, std::string> s;
    for (const char* key : {"emergency_threshold", "urgent_threshold"})
      s[key] = session_.option_text("medical.triage", key);
    s["model"] = session_.option_text("model.encode", "model");
    return s;
  }

  Session& session_;
  bool json_;
  bool interactive_;
  LineEditor* editor_;
  Style style_;
  std::string previous_;  // the last question answered, for follow-ups; empty after :new
  int count_ = 0;
  bool any_failed_ = false;
  std::optional<Answer> last_;
};

// --batch: every line of `in` answered; returns whether every question could be answered.
bool run_batch(Session& session, std::istream& in, bool json) {
  const Style style{wants_colour(), true};
  bool ok = true;
  std::string line;
  bool truncated = false;
  for (size_t number = 1; read_line(in, line, truncated); ++number) {
    std::optional<BatchItem> item =
        truncated ? BatchItem{std::to_string(number), line, false} : parse_batch_line(line, number);
    if (!item) continue;
    if (std::optional<Refusal> r = check_question(item->text, truncated)) {
      if (json) std::cout << json_line(batch_refusal_json(item->id, r->code, r->message)) << std::endl;
      else std::cout << "\n" << item->id << ": " << r->message << std::endl;
      continue;
    }
    const std::string q = clean_question(item->text);
    Answered done = session.ask(q, item->id);
    Answer a = read_answer(done.doc, static_cast<int>(number), q, session.path(), done.latency_ms,
                           std::move(done.stage_ms));
    ok = ok && !a.failed();
    if (json) {
      std::cout << json_line(batch_json(a, item->id)) << "\n";
    } else {
      std::cout << "\n" << item->id << "> " << q << "\n";
      print_answer(std::cout, a, style);
      if (a.get("level") == "emergency") std::cout << "  " << kEmergencyDisclaimer << "\n";
    }
  }
  std::cout.flush();
  return ok;
}

// Ctrl-C while a question is being answered (the prompt reads Ctrl-C as a key): leave at once,
// the terminal already restored by the line editor. The history file is only ever appended whole.
extern "C" void interrupted(int) {
  static const char msg[] = "\nmedqa: interrupted\n";
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
  ::_exit(130);
}

// The line editor wants a UTF-8 locale to edit Chinese text; the C locale would split characters.
void use_utf8_locale() {
  const char* set = std::setlocale(LC_CTYPE, "");
  const std::string name = set ? set : "";
  if (name.find("UTF-8") == std::string::npos && name.find("utf8") == std::string::npos)
    std::setlocale(LC_CTYPE, "C.UTF-8");
}

int run(const std::vector<std::string>& args) {
  MedqaOptions o = parse_options(args);
  if (o.help) return std::cout << kHelp, kExitOk;
  if (o.version) return std::cout << "medqa " << DS_VERSION << "\n", kExitOk;
  add_plugin_path(o.plugin_path);
  std::ifstream batch_file;
  if (!o.batch.empty() && o.batch != "-") {
    std::error_code ec;
    if (fs::is_directory(o.batch, ec)) throw UsageError("--batch " + o.batch + ": is a folder");
    batch_file.open(o.batch, std::ios::binary);
    if (!batch_file) throw UsageError("--batch " + o.batch + ": cannot open: " + std::strerror(errno));
  }
  const bool interactive = o.batch.empty() && o.questions.empty() && ::isatty(STDIN_FILENO);
  (o.json ? std::cerr : std::cout) << kDisclaimer;
  if (interactive) std::cerr << "medqa: loading the model ...\n";

  std::optional<Session> session;
  try {
    session.emplace(SessionSettings{find_pipeline(o.pipeline), o.model, o.path, o.lang, o.kb});
  } catch (const ConfigErrors& e) {
    bool model = false;
    for (const ConfigError& err : e.errors()) {
      std::cerr << err.format() << "\n";
      model |= err.key_path.find("model.encode.model") != std::string::npos;
    }
    if (model)
      std::cerr << "medqa: give the medical model (heads triage, department, embed) with --model FILE or "
                   "DS_MEDICAL_MODEL\n";
    return kExitUsage;
  }
  if (!o.batch.empty()) {
    std::istream& in = o.batch == "-" ? std::cin : batch_file;
    return run_batch(*session, in, o.json) ? kExitOk : kExitRuntime;
  }

  if (interactive) {
    use_utf8_locale();
    LineEditor editor(default_history_file());
    Console console(*session, o.json, true, &editor);
    std::cerr << "medqa: ready (path " << session->path() << ", language " << session->lang()
              << "). Type a question, or :help. Ctrl-C cancels a line, Ctrl-D leaves.\n";
    std::signal(SIGINT, interrupted);
    for (std::string line;;) {
      LineEditor::Result r = editor.read("medqa> ", line);
      if (r == LineEditor::Result::kEof) break;
      if (r == LineEditor::Result::kCancelled) {
        std::cout << "^C" << std::endl;
        continue;
      }
      if (line.size() > kMaxLineBytes) {
        console.line(line.substr(0, kMaxLineBytes), true);
        continue;
      }
      editor.remember(clean_question(line));
      if (!console.line(line, false)) break;
    }
    std::cout << "\n";
    return console.any_failed() ? kExitRuntime : kExitOk;
  }

  Console console(*session, o.json, false);
  if (!o.questions.empty()) {
    for (const std::string& q : o.questions)
      if (!console.line(q, false)) break;
  } else {
    std::string line;
    bool truncated = false;
    while (read_line(std::cin, line, truncated))
      if (!console.line(line, truncated)) break;
  }
  return console.any_failed() ? kExitRuntime : kExitOk;
}

}  // namespace

}  // namespace ds::medqa

int main(int argc, char** argv) {
  using namespace ds::medqa;
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const UsageError& e) {
    std::cerr << "medqa: " << e.what() << "\n";
    return kExitUsage;
  } catch (const ds::ConfigErrors& e) {
    for (const ds::ConfigError& err : e.errors()) std::cerr << err.format() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "medqa: error: " << e.what() << "\n";
    if (std::string(e.what()).find("[medical.kb]") != std::string::npos)
      std::cerr << "medqa: build the knowledge base with the pipeline's model (`deepseek kb build --model M`), "
                   "or give one with --kb FILE\n";
    return kExitRuntime;
  }
}
