#include "model/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

#include "model/model_error.h"

namespace ds::model {

namespace {

using nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000;  // SPEC.md section 6: N <= 100 MB

std::string tensor_subject(const std::string& name) { return "tensor '" + name + "'"; }

// A non-negative JSON integer, or nullopt (floats, negatives, other types).
std::optional<uint64_t> as_count(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  return std::nullopt;
}

TensorEntry parse_entry(const std::string& name, const json& v, const std::string& file) {
  const std::string subject = tensor_subject(name);
  if (!v.is_object()) throw ModelError(file, subject, "header entry is not a JSON object");
  for (const auto& [key, _] : v.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      throw ModelError(file, subject, "unknown header field '" + key + "' (expected dtype, shape, data_offsets)");
  auto dt = v.find("dtype");
  auto sh = v.find("shape");
  auto off = v.find("data_offsets");
  if (dt == v.end()) throw ModelError(file, subject, "missing 'dtype'");
  if (sh == v.end()) throw ModelError(file, subject, "missing 'shape'");
  if (off == v.end()) throw ModelError(file, subject, "missing 'data_offsets'");

  TensorEntry e;
  e.name = name;
  if (!dt->is_string()) throw ModelError(file, subject, "'dtype' is not a string");
  std::optional<Dtype> dtype = parse_dtype(dt->get_ref<const std::string&>());
  if (!dtype)
    throw ModelError(file, subject, "unknown dtype '" + dt->get_ref<const std::string&>() + "' (expected F32, F16, I8 or U8)");
  e.dtype = *dtype;

  if (!sh->is_array()) throw ModelError(file, subject, "'shape' is not an array");
  // Products are checked for overflow here; whether they fit the file is checked by the caller.
  uint64_t numel = 1;
  bool overflow = false;
  for (const json& d : *sh) {
    std::optional<uint64_t> n = as_count(d);
    if (!n || *n > static_cast<uint64_t>(INT64_MAX))
      throw ModelError(file, subject, "'shape' holds " + d.dump() + ", not a non-negative integer");
    e.shape.push_back(static_cast<int64_t>(*n));
    if (!overflow && __builtin_mul_overflow(numel, *n, &numel)) overflow = true;
  }
  uint64_t bytes = 0;
  if (overflow || __builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(e.dtype)), &bytes))
    throw ModelError(file, subject, "shape " + shape_text(e.shape) + " is too large");

  if (!off->is_array() || off->size() != 2)
    throw ModelError(file, subject, "'data_offsets' is not an array [begin, end]");
  std::optional<uint64_t> b = as_count((*off)[0]);
  std::optional<uint64_t> en = as_count((*off)[1]);
  if (!b || !en) throw ModelError(file, subject, "'data_offsets' " + off->dump() + " are not non-negative integers");
  if (*en < *b)
    throw ModelError(file, subject, "data_offsets [" + std::to_string(*b) + "," + std::to_string(*en) + "]: end < begin");
  e.begin = *b;
  e.end = *en;
  if (e.end - e.begin != bytes)
    throw ModelError(file, subject,
                     "data_offsets [" + std::to_string(e.begin) + "," + std::to_string(e.end) + "] hold " +
                         std::to_string(e.end - e.begin) + " bytes but " + dtype_name(e.dtype) + " " +
                         shape_text(e.shape) + " needs " + std::to_string(bytes));
  return e;
}

}  // namespace

size_t dtype_size(Dtype dtype) {
  switch (dtype) {
    case Dtype::kF32: return 4;
    case Dtype::kF16: return 2;
    case Dtype::kI8:
    case Dtype::kU8: return 1;
  }
  return 1;
}

const char* dtype_name(Dtype dtype) {
  switch (dtype) {
    case Dtype::kF32: return "F32";
    case Dtype::kF16: return "F16";
    case Dtype::kI8: return "I8";
    case Dtype::kU8: return "U8";
  }
  return "?";
}

std::optional<Dtype> parse_dtype(std::string_view name) {
  if (name == "F32") return Dtype::kF32;
  if (name == "F16") return Dtype::kF16;
  if (name == "I8") return Dtype::kI8;
  if (name == "U8") return Dtype::kU8;
  return std::nullopt;
}

int64_t TensorEntry::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // validated not to overflow when parsed
  return n;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

const TensorEntry* SafetensorsHeader::find(std::string_view name) const {
  auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                             [](const TensorEntry& e, std::string_view n) { return e.name < n; });
  return it != tensors.end() && it->name == name ? &*it : nullptr;
}

SafetensorsHeader parse_safetensors(const uint8_t* bytes, size_t size, const std::string& file) {
  SafetensorsHeader h;
  if (size < 8)
    throw ModelError(file, "", "file is " + std::to_string(size) + " bytes, too short for a safetensors header");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];  // little-endian on every host
  if (n > kMaxHeaderBytes)
    throw ModelError(file, "", "header length " + std::to_string(n) + " is over the 100 MB limit (corrupt file?)");
  if (n > size - 8)
    throw ModelError(file, "", "header length " + std::to_string(n) + " runs past the end of the file (" +
                                   std::to_string(size) + " bytes): truncated?");
  h.header_len = n;
  h.data_offset = 8 + n;
  h.data_size = size - h.data_offset;

  const char* text = reinterpret_cast<const char*>(bytes + 8);
  json root;
  try {
    root = json::parse(text, text + n);
  } catch (const json::exception& e) {
    std::string why = "not valid JSON";
    if (const auto* pe = dynamic_cast<const json::parse_error*>(&e)) why += " (byte " + std::to_string(pe->byte) + " of the header)";
    throw ModelError(file, "header", why);
  }
  if (!root.is_object()) throw ModelError(file, "header", "is not a JSON object");

  for (const auto& [name, value] : root.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) throw ModelError(file, "__metadata__", "is not a JSON object");
      for (const auto& [key, v] : value.items()) {
        if (!v.is_string()) throw ModelError(file, "metadata key '" + key + "'", "value is not a string");
        h.metadata.emplace(key, v.get<std::string>());
      }
      continue;
    }
    TensorEntry e = parse_entry(name, value, file);
    if (e.end > h.data_size)
      throw ModelError(file, tensor_subject(name),
                       "data_offsets [" + std::to_string(e.begin) + "," + std::to_string(e.end) +
                           "] run past the end of the data section (" + std::to_string(h.data_size) +
                           " bytes): truncated?");
    h.tensors.push_back(std::move(e));
  }

  // Overlaps: sort non-empty ranges by start; each must start at or after the previous end.
  std::vector<const TensorEntry*> by_offset;
  for (const TensorEntry& e : h.tensors)
    if (e.end > e.begin) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->name < b->name;
  });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorEntry* prev = by_offset[i - 1];
    const TensorEntry* cur = by_offset[i];
    if (cur->begin < prev->end)
      throw ModelError(file, tensor_subject(cur->name),
                       "data_offsets [" + std::to_string(cur->begin) + "," + std::to_string(cur->end) +
                           "] overlap tensor '" + prev->name + "' [" + std::to_string(prev->begin) + "," +
                           std::to_string(prev->end) + "]");
  }
  std::sort(h.tensors.begin(), h.tensors.end(), [](const TensorEntry& a, const TensorEntry& b) { return a.name < b.name; });
  return h;
}

}  // namespace ds::model
