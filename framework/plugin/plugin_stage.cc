#include "plugin/plugin_stage.h"

#include <stdexcept>
#include <string>
#include <vector>

#include "plugin/host_api.h"

namespace ds {
namespace {

void collect_message(void* ctx, ds_str message) {
  try {
    static_cast<std::string*>(ctx)->assign(message.ptr ? message.ptr : "", message.ptr ? message.len : 0);
  } catch (...) {
    // Out of memory: the status code still reports the failure.
  }
}

ds_str view(const std::string& s) { return ds_str{s.data(), s.size()}; }

// The resolved option values in C form. Points into `options` and into itself: keep both alive
// for the create call and do not copy.
class CreateArgs {
 public:
  CreateArgs(const StageSpec& spec, const Options& options, const StageContext& context)
      : instance_name_(context.instance_name), base_dir_(context.base_dir.string()) {
    owned_.reserve(spec.options.size());
    values_.reserve(spec.options.size());
    lists_.reserve(spec.options.size());
    for (const OptionSpec& o : spec.options) {
      if (options.has(o.name)) {
        add(o, o.name, lookup(spec, options, o));
      } else if (o.default_value) {
        add(o, o.name, *o.default_value);
      } else {
        throw std::runtime_error("[" + spec.name + "] option '" + o.name + "' is required");
      }
    }
    args_.struct_size = sizeof args_;
    args_.options = values_.empty() ? nullptr : values_.data();
    args_.option_count = values_.size();
    args_.instance_name = view(instance_name_);
    args_.base_dir = view(base_dir_);
    args_.worker = context.worker;
  }
  CreateArgs(const CreateArgs&) = delete;
  CreateArgs& operator=(const CreateArgs&) = delete;

  const ds_create_args* c() const { return &args_; }

 private:
  static OptionValue lookup(const StageSpec& spec, const Options& options, const OptionSpec& o) {
    try {
      switch (o.type) {
        case OptionType::kBool: return options.get_bool(o.name);
        case OptionType::kInt: return options.get_int(o.name);
        case OptionType::kFloat: return options.get_float(o.name);
        case OptionType::kStringList: return options.get_strings(o.name);
        default: return options.get_string(o.name);
      }
    } catch (const std::exception& e) {
      throw std::runtime_error("[" + spec.name + "] option '" + o.name + "': " + e.what());
    }
  }

  void add(const OptionSpec& o, const std::string& name, const OptionValue& value) {
    owned_.push_back(value);
    const OptionValue& v = owned_.back();
    ds_option_value c{};
    c.struct_size = sizeof c;
    c.name = view(name);
    c.type = static_cast<ds_option_type>(o.type);
    if (const bool* b = std::get_if<bool>(&v)) c.bool_value = *b;
    if (const int64_t* i = std::get_if<int64_t>(&v)) {
      c.int_value = *i;
      c.float_value = static_cast<double>(*i);
    }
    if (const double* d = std::get_if<double>(&v)) c.float_value = *d;
    if (const std::string* s = std::get_if<std::string>(&v)) c.string_value = view(*s);
    lists_.emplace_back();
    if (const auto* items = std::get_if<std::vector<std::string>>(&v)) {
      for (const std::string& s : *items) lists_.back().push_back(view(s));
      c.list = lists_.back().data();
      c.list_count = lists_.back().size();
    }
    values_.push_back(c);
  }

  std::string instance_name_;
  std::string base_dir_;
  std::vector<OptionValue> owned_;  // reserved: element addresses stay put
  std::vector<std::vector<ds_str>> lists_;
  std::vector<ds_option_value> values_;
  ds_create_args args_{};
};

class PluginStage final : public Stage {
 public:
  PluginStage(std::shared_ptr<const PluginLibrary> library, const PluginStageBinding& binding, const Options& options,
              const StageContext& context)
      : library_(std::move(library)), binding_(binding),
        annotation_stage_(context.instance_name.empty() ? binding.spec.name : context.instance_name) {
    CreateArgs args(binding_.spec, options, context);
    std::string message;
    ds_error_sink sink{&message, &collect_message};
    void* instance = nullptr;
    ds_status status = binding_.create(args.c(), &instance, &sink);
    if (status != DS_STATUS_OK)
      throw std::runtime_error("[" + binding_.spec.name + "] " +
                               (message.empty() ? "create failed with status " + std::to_string(status) : message));
    instance_ = instance;
  }

  ~PluginStage() override {
    if (instance_) binding_.destroy(instance_);
  }

  void process(Document& doc) override {
    const size_t annotations = doc.annotations.size();
    const size_t warnings = doc.warnings.size();
    PluginDocHandle handle{doc, annotation_stage_, {}, {}};
    std::string message;
    ds_error_sink sink{&message, &collect_message};
    ds_status status = binding_.process(instance_, handle.c_handle(), &plugin_host_api(), &sink);
    if (status == DS_STATUS_OK) return;
    // A failed call leaves no half-written results behind.
    doc.annotations.resize(annotations);
    doc.warnings.resize(warnings);
    throw std::runtime_error("[" + binding_.spec.name + "] " +
                             (message.empty() ? "failed with status " + std::to_string(status) : message));
  }

 private:
  std::shared_ptr<const PluginLibrary> library_;  // declared first: released after the instance
  const PluginStageBinding& binding_;             // lives in *library_
  std::string annotation_stage_;
  void* instance_ = nullptr;
};

}  // namespace

std::unique_ptr<Stage> make_plugin_stage(std::shared_ptr<const PluginLibrary> library, size_t index,
                                         const Options& options, const StageContext& context) {
  const PluginStageBinding& binding = library->stages.at(index);
  return std::make_unique<PluginStage>(std::move(library), binding, options, context);
}

void register_plugin_stages(const std::shared_ptr<const PluginLibrary>& library, Registry& registry) {
  for (const PluginStageBinding& b : library->stages) {
    if (const StageSpec* existing = registry.find_stage(b.spec.name)) {
      std::string owner = existing->provider == "builtin" ? "a built-in stage" : "plug-in '" + existing->provider + "'";
      throw PluginError("[plugin.load] " + library->info.file.string() + ": stage '" + b.spec.name +
                        "' is already registered by " + owner);
    }
  }
  for (size_t i = 0; i < library->stages.size(); ++i) {
    registry.add_stage(library->stages[i].spec, PluginStageFactory{library, i});
  }
}

}  // namespace ds
