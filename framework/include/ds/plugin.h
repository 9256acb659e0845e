// Plug-in SDK (header-only, C++20): write stages as C++ classes; the SDK generates the C ABI glue.
//
//   #include "ds/plugin.h"
//
//   class Shout {
//    public:
//     static ds::sdk::StageInfo spec() {
//       return {"shout", "marks every '!'", {ds::sdk::option_float("score", 1.0, "score to give", 0, 1)},
//               DS_FIELD_NORMALIZED, DS_FIELD_ANNOTATIONS};
//     }
//     explicit Shout(const ds::sdk::Config& config) : score_(config.get_float("score")) {}
//     void process(ds::sdk::DocumentView& doc, ds::sdk::Output& out) {
//       std::string_view t = doc.normalized();
//       for (size_t i = t.find('!'); i != t.npos; i = t.find('!', i + 1)) out.add("bang", i, i + 1, score_);
//     }
//    private:
//     double score_;
//   };
//
//   DS_PLUGIN(ds::sdk::Plugin("demo", "0.1.0", "MIT", "example plug-in").stage<Shout>())
//
// registers the stage "demo.shout". A stage class needs `static StageInfo spec()`, a constructor
// taking `const Config&` (or none), and `process(DocumentView&, Output&)`. An instance is used by
// one thread at a time. Anything thrown from the constructor or process() is caught at the
// boundary and reported by the host as "[<plugin>.<stage>] <what()>"; no exception crosses.
#pragma once

#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ds/plugin_abi.h"
#include "ds/plugin_document.h"
#include "ds/plugin_options.h"
#include "ds/plugin_text.h"

namespace ds::sdk {

// What a stage class declares about itself.
struct StageInfo {
  std::string name;  // [a-z][a-z0-9_]*; registered as "<plugin>.<name>"
  std::string doc;   // one line
  std::vector<OptionDecl> options;
  uint32_t reads = 0;  // DS_FIELD_* bits
  uint32_t adds = 0;
};

namespace detail {

inline void report(const ds_error_sink* sink, std::string_view message) noexcept {
  if (sink && sink->report) sink->report(sink->ctx, ds_str{message.data(), message.size()});
}

// Runs `f`, turning every exception into a status and a message for the host.
template <class F>
ds_status guarded(const ds_error_sink* error, F&& f) noexcept {
  try {
    f();
    return DS_STATUS_OK;
  } catch (const HostError& e) {
    report(error, e.what());
    return e.status() == DS_STATUS_OK ? DS_STATUS_ERROR : e.status();
  } catch (const std::exception& e) {
    report(error, e.what());
    return DS_STATUS_ERROR;
  } catch (...) {
    report(error, "unknown exception (not derived from std::exception)");
    return DS_STATUS_ERROR;
  }
}

template <class T>
ds_status create_stage(const ds_create_args* args, void** instance, const ds_error_sink* error) noexcept {
  return guarded(error, [&] {
    if (!instance) throw std::invalid_argument("[sdk] create called without an instance pointer");
    Config config(args);
    if constexpr (std::is_constructible_v<T, const Config&>) {
      *instance = new T(config);
    } else {
      *instance = new T();
    }
  });
}

template <class T>
ds_status process_stage(void* instance, ds_doc* doc, const ds_host_api* host, const ds_error_sink* error) noexcept {
  return guarded(error, [&] {
    DocumentView view(doc, host);
    Output out(doc, host);
    static_cast<T*>(instance)->process(view, out);
  });
}

template <class T>
void destroy_stage(void* instance) noexcept {
  try {
    delete static_cast<T*>(instance);
  } catch (...) {
    // A throwing destructor has nowhere to report to; swallowing beats crossing the C boundary.
  }
}

struct StageDef {
  StageInfo info;
  decltype(ds_stage_decl::create) create;
  decltype(ds_stage_decl::process) process;
  decltype(ds_stage_decl::destroy) destroy;
};

}  // namespace detail

// A plug-in's metadata and stages, built once by DS_PLUGIN.
class Plugin {
 public:
  Plugin(std::string name, std::string version, std::string license, std::string description)
      : name_(std::move(name)), version_(std::move(version)), license_(std::move(license)),
        description_(std::move(description)) {}

  template <class T>
  Plugin& stage() {
    static_assert(std::is_same_v<decltype(T::spec()), StageInfo>, "a stage class needs `static StageInfo spec()`");
    stages_.push_back({T::spec(), &detail::create_stage<T>, &detail::process_stage<T>, &detail::destroy_stage<T>});
    return *this;
  }

  const std::string& name() const { return name_; }

 private:
  friend class Descriptor;
  std::string name_, version_, license_, description_;
  std::vector<detail::StageDef> stages_;
};

// Owns a Plugin and the C descriptor pointing into it. Immovable, so the pointers stay valid.
class Descriptor {
 public:
  explicit Descriptor(Plugin plugin) : plugin_(std::move(plugin)) {
    const size_t n = plugin_.stages_.size();
    options_.resize(n);
    stage_decls_.resize(n);
    for (size_t s = 0; s < n; ++s) {
      const detail::StageDef& def = plugin_.stages_[s];
      for (const OptionDecl& o : def.info.options) {
        ds_option_decl d{};
        d.struct_size = sizeof d;
        d.name = o.name.c_str();
        d.type = o.type;
        d.doc = o.doc.c_str();
        d.has_default = o.has_default;
        d.default_bool = o.default_bool;
        d.default_int = o.default_int;
        d.default_float = o.default_float;
        d.default_string = o.default_string.c_str();
        d.default_list = c_strings(o.default_list);
        d.default_list_count = o.default_list.size();
        d.has_min = o.min.has_value();
        d.min = o.min.value_or(0.0);
        d.has_max = o.max.has_value();
        d.max = o.max.value_or(0.0);
        d.choices = c_strings(o.choices);
        d.choice_count = o.choices.size();
        options_[s].push_back(d);
      }
      ds_stage_decl& sd = stage_decls_[s];
      sd.struct_size = sizeof sd;
      sd.name = def.info.name.c_str();
      sd.doc = def.info.doc.c_str();
      sd.options = options_[s].empty() ? nullptr : options_[s].data();
      sd.option_count = options_[s].size();
      sd.reads = def.info.reads;
      sd.adds = def.info.adds;
      sd.create = def.create;
      sd.process = def.process;
      sd.destroy = def.destroy;
    }
    desc_.struct_size = sizeof desc_;
    desc_.abi_major = DS_PLUGIN_ABI_MAJOR;
    desc_.abi_minor = DS_PLUGIN_ABI_MINOR;
    desc_.name = plugin_.name_.c_str();
    desc_.version = plugin_.version_.c_str();
    desc_.license = plugin_.license_.c_str();
    desc_.description = plugin_.description_.c_str();
    desc_.stages = stage_decls_.empty() ? nullptr : stage_decls_.data();
    desc_.stage_count = stage_decls_.size();
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;

  const ds_plugin_descriptor& c() const { return desc_; }

 private:
  const char* const* c_strings(const std::vector<std::string>& v) {
    if (v.empty()) return nullptr;
    auto ptrs = std::make_unique<const char*[]>(v.size());
    for (size_t i = 0; i < v.size(); ++i) ptrs[i] = v[i].c_str();
    string_arrays_.push_back(std::move(ptrs));
    return string_arrays_.back().get();
  }

  Plugin plugin_;
  std::vector<std::vector<ds_option_decl>> options_;
  std::vector<std::unique_ptr<const char*[]>> string_arrays_;
  std::vector<ds_stage_decl> stage_decls_;
  ds_plugin_descriptor desc_{};
};

namespace detail {

// The body of ds_plugin_entry: builds the descriptor once and checks the host's ABI version.
template <class Make>
ds_status plugin_entry(uint32_t host_major, uint32_t host_minor, const ds_plugin_descriptor** out,
                       const ds_error_sink* error, Make make) noexcept {
  return guarded(error, [&] {
    static const Descriptor descriptor(make());
    if (out) *out = &descriptor.c();
    if (host_major != DS_PLUGIN_ABI_MAJOR || host_minor < DS_PLUGIN_ABI_MINOR) {
      throw HostError(DS_STATUS_ABI_MISMATCH,
                      "[plugin.abi] plug-in '" + std::string(descriptor.c().name) + "' was built for plug-in ABI " +
                          std::to_string(DS_PLUGIN_ABI_MAJOR) + "." + std::to_string(DS_PLUGIN_ABI_MINOR) +
                          " but the host provides " + std::to_string(host_major) + "." + std::to_string(host_minor));
    }
  });
}

}  // namespace detail
}  // namespace ds::sdk

// Defines the plug-in's one exported entry point from a ds::sdk::Plugin expression. Use once per
// plug-in library, at namespace scope.
#define DS_PLUGIN(...)                                                                                  \
  extern "C" DS_PLUGIN_EXPORT ds_status ds_plugin_entry(uint32_t host_abi_major, uint32_t host_abi_minor, \
                                                        const ds_plugin_descriptor** descriptor,          \
                                                        const ds_error_sink* error) noexcept {            \
    return ::ds::sdk::detail::plugin_entry(host_abi_major, host_abi_minor, descriptor, error,            \
                                           [] { return ::ds::sdk::Plugin(__VA_ARGS__); });              \
  }
