// The safetensors container: 8-byte little-endian header length N, N bytes of JSON header, then the
// data section (model/SPEC.md section 6). This file knows the container only, not the model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ds::model {

enum class Dtype { kF32, kF16, kI8, kU8 };

size_t dtype_size(Dtype dtype);               // bytes per element
const char* dtype_name(Dtype dtype);          // "F32", "F16", "I8", "U8"
std::optional<Dtype> parse_dtype(std::string_view name);

// One tensor's header entry. Offsets are relative to the data section.
struct TensorEntry {
  std::string name;
  Dtype dtype = Dtype::kF32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;

  int64_t numel() const;  // product of the shape (1 for a scalar)
  uint64_t bytes() const { return end - begin; }
};

// "[64,32]"
std::string shape_text(const std::vector<int64_t>& shape);

struct SafetensorsHeader {
  uint64_t header_len = 0;   // N
  uint64_t data_offset = 0;  // 8 + N: where the data section starts in the file
  uint64_t data_size = 0;    // bytes of the data section
  std::vector<TensorEntry> tensors;             // sorted by name
  std::map<std::string, std::string> metadata;  // `__metadata__`, string values

  const TensorEntry* find(std::string_view name) const;  // null if absent
};

// Parses and validates the whole container header of a file of `size` bytes at `bytes` before
// anything reads tensor data: N <= 100 MB and inside the file, the header a JSON object, every entry
// {dtype, shape, data_offsets} with a known dtype, byte length = numel x dtype size, end >= begin,
// end inside the data section, no two tensors overlapping, metadata values strings.
// Throws ModelError whose message starts with `file_label` and names the tensor or key at fault.
SafetensorsHeader parse_safetensors(const uint8_t* bytes, size_t size, const std::string& file_label);

}  // namespace ds::model
