#include "plugin/plugin_library.h"

#include <cmath>
#include <cstring>
#include <exception>
#include <set>
#include <string_view>

namespace ds {
namespace {

// The sizes of the ABI 1.0 structs. A later minor may append fields; these minimums stay.
constexpr uint32_t kFrozenDescriptorPrefix = 3 * sizeof(uint32_t);  // struct_size, abi_major, abi_minor
constexpr size_t kDescriptorSize10 = sizeof(ds_plugin_descriptor);
constexpr size_t kStageDeclSize10 = sizeof(ds_stage_decl);
constexpr size_t kOptionDeclSize10 = sizeof(ds_option_decl);
constexpr size_t kMaxStructSize = 1 << 16;  // anything larger is garbage, not a newer minor
constexpr size_t kMaxCount = 1 << 12;

std::string version_string(uint32_t major, uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

[[noreturn]] void bad_descriptor(const std::filesystem::path& file, const std::string& what) {
  throw PluginError("[plugin.load] " + file.string() + ": bad plug-in descriptor: " + what);
}

// Element i of a plug-in array of structs starting with struct_size: the stride is the first
// element's struct_size, so a plug-in built for a later minor is walked correctly.
template <class T>
const T* element_at(const T* base, size_t i) {
  return reinterpret_cast<const T*>(reinterpret_cast<const char*>(base) + i * base->struct_size);
}

template <class T>
void check_array(const std::filesystem::path& file, const T* base, size_t count, size_t min_size,
                 const std::string& what) {
  if (count == 0) return;
  if (!base) bad_descriptor(file, what + ": " + std::to_string(count) + " entries but no array");
  if (count > kMaxCount) bad_descriptor(file, what + ": implausible count " + std::to_string(count));
  if (base->struct_size < min_size || base->struct_size > kMaxStructSize)
    bad_descriptor(file, what + ": struct_size " + std::to_string(base->struct_size) + " (at least " +
                             std::to_string(min_size) + " expected)");
}

std::string text_field(const char* s) { return s ? std::string(s) : std::string(); }

std::string dlerror_part(const std::string& what) {
  // Boost.DLL appends dlerror's text as "(dlerror system message: <text>)"; that text is the useful part.
  const std::string marker = "(dlerror system message: ";
  size_t at = what.find(marker);
  if (at == std::string::npos) return what;
  size_t begin = at + marker.size();
  size_t end = what.rfind(')');
  if (end == std::string::npos || end < begin) end = what.size();
  return what.substr(begin, end - begin);
}

OptionSpec convert_option(const std::filesystem::path& file, const std::string& where, const ds_option_decl& d) {
  OptionSpec o;
  o.name = text_field(d.name);
  if (!valid_plugin_identifier(o.name)) bad_descriptor(file, where + ": option name '" + o.name + "' is not [a-z][a-z0-9_]*");
  std::string at = where + ", option '" + o.name + "'";
  if (d.type < DS_OPTION_BOOL || d.type > DS_OPTION_STRING_LIST)
    bad_descriptor(file, at + ": unknown type " + std::to_string(d.type));
  o.type = static_cast<OptionType>(d.type);
  o.doc = text_field(d.doc);
  if (d.has_min) o.min = d.min;
  if (d.has_max) o.max = d.max;
  if ((o.min && !std::isfinite(*o.min)) || (o.max && !std::isfinite(*o.max)) || (o.min && o.max && *o.min > *o.max))
    bad_descriptor(file, at + ": bad bounds");
  if (o.type == OptionType::kEnum) {
    if (d.choice_count == 0 || !d.choices) bad_descriptor(file, at + ": an enum needs choices");
    for (size_t i = 0; i < d.choice_count; ++i) {
      if (!d.choices[i] || !*d.choices[i]) bad_descriptor(file, at + ": empty choice");
      o.choices.emplace_back(d.choices[i]);
    }
  }
  if (!d.has_default) return o;
  switch (o.type) {
    case OptionType::kBool: o.default_value = d.default_bool != 0; break;
    case OptionType::kInt: o.default_value = d.default_int; break;
    case OptionType::kFloat:
      if (!std::isfinite(d.default_float)) bad_descriptor(file, at + ": default is not a finite number");
      o.default_value = d.default_float;
      break;
    case OptionType::kStringList: {
      if (d.default_list_count > 0 && !d.default_list) bad_descriptor(file, at + ": default list missing");
      std::vector<std::string> items;
      for (size_t i = 0; i < d.default_list_count; ++i) {
        if (!d.default_list[i]) bad_descriptor(file, at + ": null item in the default list");
        items.emplace_back(d.default_list[i]);
      }
      o.default_value = std::move(items);
      break;
    }
    default:
      if (!d.default_string) bad_descriptor(file, at + ": default string missing");
      o.default_value = std::string(d.default_string);
      break;
  }
  double value = o.type == OptionType::kInt ? static_cast<double>(d.default_int) : d.default_float;
  if ((o.type == OptionType::kInt || o.type == OptionType::kFloat) &&
      ((o.min && value < *o.min) || (o.max && value > *o.max)))
    bad_descriptor(file, at + ": default outside its bounds");
  if (o.type == OptionType::kEnum) {
    const std::string& def = std::get<std::string>(*o.default_value);
    bool known = false;
    for (const auto& c : o.choices) known = known || c == def;
    if (!known) bad_descriptor(file, at + ": default '" + def + "' is not one of its choices");
  }
  return o;
}

std::vector<Field> convert_fields(const std::filesystem::path& file, const std::string& where, uint32_t bits) {
  if (bits & ~DS_FIELD_ALL) bad_descriptor(file, where + ": unknown field bits " + std::to_string(bits & ~DS_FIELD_ALL));
  std::vector<Field> fields;
  for (int i = 0; i <= static_cast<int>(Field::kAnnotations); ++i)
    if (bits & (1u << i)) fields.push_back(static_cast<Field>(i));
  return fields;
}

PluginStageBinding convert_stage(const std::filesystem::path& file, const std::string& plugin, size_t index,
                                 const ds_stage_decl& d) {
  std::string name = text_field(d.name);
  if (!valid_plugin_identifier(name))
    bad_descriptor(file, "stage " + std::to_string(index) + ": name '" + name + "' is not [a-z][a-z0-9_]*");
  std::string where = "stage '" + name + "'";
  if (!d.create || !d.process || !d.destroy) bad_descriptor(file, where + ": create, process and destroy are required");
  PluginStageBinding b;
  b.spec.name = plugin + "." + name;
  b.spec.doc = text_field(d.doc);
  b.spec.provider = plugin;
  b.spec.reads = convert_fields(file, where, d.reads);
  b.spec.adds = convert_fields(file, where, d.adds);
  check_array(file, d.options, d.option_count, kOptionDeclSize10, where + " options");
  std::set<std::string> seen;
  for (size_t i = 0; i < d.option_count; ++i) {
    OptionSpec o = convert_option(file, where, *element_at(d.options, i));
    if (!seen.insert(o.name).second) bad_descriptor(file, where + ": option '" + o.name + "' declared twice");
    b.spec.options.push_back(std::move(o));
  }
  b.create = d.create;
  b.process = d.process;
  b.destroy = d.destroy;
  return b;
}

using EntryFn = ds_status(uint32_t, uint32_t, const ds_plugin_descriptor**, const ds_error_sink*);

void collect_message(void* ctx, ds_str message) {
  try {
    static_cast<std::string*>(ctx)->assign(message.ptr ? message.ptr : "", message.ptr ? message.len : 0);
  } catch (...) {
    // Out of memory: the status code still reports the failure.
  }
}

}  // namespace

bool valid_plugin_identifier(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

std::shared_ptr<const PluginLibrary> open_plugin_library(const std::filesystem::path& file) {
  const std::string f = file.string();
  auto lib = std::make_shared<PluginLibrary>();
  try {
    lib->library = std::make_shared<boost::dll::shared_library>(
        boost::dll::fs::path(f), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw PluginError("[plugin.load] " + f + " is not a loadable library: " + dlerror_part(e.what()));
  }
  if (!lib->library->has(DS_PLUGIN_ENTRY_NAME))
    throw PluginError("[plugin.load] " + f + " has no entry point '" DS_PLUGIN_ENTRY_NAME
                      "' (not a Deepseek Pipelines plug-in?)");
  EntryFn& entry = lib->library->get<EntryFn>(DS_PLUGIN_ENTRY_NAME);

  std::string message;
  ds_error_sink sink{&message, &collect_message};
  const ds_plugin_descriptor* desc = nullptr;
  ds_status status = DS_STATUS_ERROR;
  try {
    status = entry(DS_PLUGIN_ABI_MAJOR, DS_PLUGIN_ABI_MINOR, &desc, &sink);
  } catch (...) {
    throw PluginError("[plugin.load] " + f + ": the entry point threw an exception across the C ABI");
  }

  const std::string host_version = version_string(DS_PLUGIN_ABI_MAJOR, DS_PLUGIN_ABI_MINOR);
  if (desc && desc->struct_size >= kFrozenDescriptorPrefix) {
    if (desc->abi_major != DS_PLUGIN_ABI_MAJOR || desc->abi_minor > DS_PLUGIN_ABI_MINOR ||
        status == DS_STATUS_ABI_MISMATCH)
      throw PluginError("[plugin.abi] plugin " + f + " was built for plug-in ABI " +
                        version_string(desc->abi_major, desc->abi_minor) + " but this host provides " + host_version +
                        (message.empty() ? "" : " (" + message + ")"));
  } else if (status == DS_STATUS_ABI_MISMATCH) {
    throw PluginError("[plugin.abi] plugin " + f + " refuses plug-in ABI " + host_version +
                      (message.empty() ? "" : ": " + message));
  }
  if (status != DS_STATUS_OK)
    throw PluginError("[plugin.load] " + f + ": the entry point failed (status " + std::to_string(status) + ")" +
                      (message.empty() ? "" : ": " + message));
  if (!desc) bad_descriptor(file, "the entry point returned no descriptor");
  if (desc->struct_size < kDescriptorSize10 || desc->struct_size > kMaxStructSize)
    bad_descriptor(file, "struct_size " + std::to_string(desc->struct_size));

  lib->descriptor = desc;
  PluginInfo& info = lib->info;
  info.name = text_field(desc->name);
  if (!valid_plugin_identifier(info.name)) bad_descriptor(file, "plug-in name '" + info.name + "' is not [a-z][a-z0-9_]*");
  info.version = text_field(desc->version);
  if (info.version.empty()) bad_descriptor(file, "no version");
  info.license = text_field(desc->license);
  info.description = text_field(desc->description);
  info.abi_major = desc->abi_major;
  info.abi_minor = desc->abi_minor;
  info.file = file;
  if (desc->stage_count == 0) bad_descriptor(file, "no stages");
  check_array(file, desc->stages, desc->stage_count, kStageDeclSize10, "stages");
  std::set<std::string> seen;
  for (size_t i = 0; i < desc->stage_count; ++i) {
    PluginStageBinding b = convert_stage(file, info.name, i, *element_at(desc->stages, i));
    if (!seen.insert(b.spec.name).second) bad_descriptor(file, "stage '" + b.spec.name + "' declared twice");
    info.stages.push_back(b.spec.name);
    lib->stages.push_back(std::move(b));
  }
  return lib;
}

}  // namespace ds
