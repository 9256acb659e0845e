#include "session.h"

#include <chrono>
#include <cmath>
#include <sstream>

namespace ds::medqa {

namespace {

bool declares(const Registry& registry, const std::string& stage, const std::string& option) {
  const StageSpec* spec = registry.find_stage(stage);
  if (!spec) return false;
  for (const OptionSpec& o : spec->options)
    if (o.name == option) return true;
  return false;
}

std::string value_text(const OptionValue& v) {
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) {
    std::ostringstream s;
    s << *d;
    return s.str();
  }
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* l = std::get_if<std::vector<std::string>>(&v)) {
    std::string out;
    for (const std::string& x : *l) out += (out.empty() ? "" : ",") + x;
    return out;
  }
  return "";
}

std::string absolute_text(const std::string& path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  return (ec ? std::filesystem::path(path) : abs).lexically_normal().string();
}

}  // namespace

Session::Session(SessionSettings settings) : settings_(std::move(settings)) {
  register_builtins(registry_);
  // The plug-ins the file names register their stages first: the overrides for those stages are
  // known only then. load_pipeline loads them again (a no-op) and reports their errors in place.
  RawPipeline raw = parse_pipeline_file(settings_.pipeline);
  for (const PluginRef& ref : raw.plugins) {
    try {
      host_.load(ref.name_or_path, raw.base_dir, registry_);
    } catch (const std::exception&) {
    }
  }
  start(settings_.path);
}

Session::~Session() = default;

std::vector<OptionOverride> Session::overrides(const std::string& path) const {
  using Section = OptionOverride::Section;
  std::vector<OptionOverride> out;
  // The stages that answer (medical.*), but not the red-flag rules: whatever the answer's
  // language, those keep matching terms of both languages, so a mixed question loses no red flag.
  std::vector<std::string> answering;
  for (const std::string& stage : registry_.stage_names())
    if (stage.rfind("medical.", 0) == 0 && stage != "medical.redflags") answering.push_back(stage);
  if (!settings_.model.empty()) {
    const std::string model = absolute_text(settings_.model);
    out.push_back({Section::kStage, "model.encode", "model", model});
    // A stage that checks the model's identity (medical.answer: the KB's vectors) gets the same file.
    for (const std::string& stage : answering)
      if (declares(registry_, stage, "model")) out.push_back({Section::kStage, stage, "model", model});
  }
  if (!path.empty()) out.push_back({Section::kStage, "model.encode", "path", path});
  if (!settings_.kb.empty())
    for (const std::string& stage : answering)
      if (declares(registry_, stage, "kb")) out.push_back({Section::kStage, stage, "kb", absolute_text(settings_.kb)});
  if (!settings_.lang.empty())
    for (const std::string& stage : answering)
      for (const char* option : {"language", "lang"})
        if (declares(registry_, stage, option)) {
          out.push_back({Section::kStage, stage, option, settings_.lang});
          break;
        }
  return out;
}

void Session::start(const std::string& path) {
  PipelineConfig config = load_pipeline(settings_.pipeline, registry_, host_, overrides(path));
  std::vector<std::unique_ptr<Stage>> stages;
  for (const StageConfig& sc : config.stages) {
    const StageFactory* factory = registry_.stage_factory(sc.stage);
    if (!factory) throw std::runtime_error("[" + sc.instance_name + "] stage is not registered");
    try {
      stages.push_back((*factory)(sc.options, StageContext{sc.instance_name, config.base_dir, 0}));
    } catch (const std::exception& e) {
      const std::string msg = e.what(), prefix = "[" + sc.instance_name + "]";
      throw std::runtime_error(msg.rfind(prefix, 0) == 0 ? msg : prefix + " cannot start: " + msg);
    }
  }
  // The old stages go only now, so the model they share with the new ones is never unloaded.
  stages_.swap(stages);
  config_ = std::move(config);
  settings_.path = path;
}

void Session::set_path(const std::string& path) { start(path); }

void Session::set_lang(const std::string& lang) {
  const std::string old = settings_.lang;
  settings_.lang = lang;
  try {
    start(settings_.path);
  } catch (...) {
    settings_.lang = old;
    throw;
  }
}

std::string Session::path() const {
  for (const StageConfig& sc : config_.stages)
    if (sc.stage == "model.encode") {
      const std::string p = sc.options.get_string("path");
      return p.empty() ? "default" : p;
    }
  return "";
}

std::string Session::option_text(const std::string& stage, const std::string& option) const {
  for (const StageConfig& sc : config_.stages) {
    if (sc.stage != stage) continue;
    for (const auto& [name, value] : sc.options.values())
      if (name == option) return value_text(value);
  }
  return "";
}

Answered Session::ask(const std::string& question, const std::string& name) {
  Answered a;
  Document& d = a.doc;
  d.source.path = name;
  d.source.size = question.size();
  d.bytes = question;
  const auto started = std::chrono::steady_clock::now();
  for (size_t s = 0; s < stages_.size(); ++s) {
    if (d.failed()) break;
    const std::string& stage_name = config_.stages[s].instance_name;
    const auto t0 = std::chrono::steady_clock::now();
    Document* one = &d;
    try {
      stages_[s]->process_batch({&one, 1}, stage_name);
    } catch (const std::exception& e) {
      if (!d.failed()) d.fail(stage_name, e.what());
    } catch (...) {
      if (!d.failed()) d.fail(stage_name, "unknown exception");
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    a.stage_ms.emplace_back(stage_name, ms);
    d.timings_ms[stage_name] = ms;
  }
  if (!d.failed()) d.status = DocStatus::kDone;
  a.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return a;
}

}  // namespace ds::medqa
