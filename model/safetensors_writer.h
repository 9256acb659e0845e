// Writes safetensors files: used by tests now and by the quantizer later.
//
// Layout choices (SPEC.md section 6): the header is padded with spaces so the data section starts
// at a multiple of 8 bytes, and every tensor starts at a multiple of 4 bytes of the data section, so
// a reader mapping the file can use F32 tensors in place.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "model/safetensors.h"

namespace ds::model {

class SafetensorsWriter {
 public:
  // Metadata value (a string; JSON documents go in as their text).
  void set_metadata(const std::string& key, std::string value);

  // Adds a tensor, copying `bytes` (which must be numel(shape) x dtype size bytes; throws
  // std::invalid_argument otherwise, or if the name is taken). Tensors are laid out in call order.
  void add(const std::string& name, Dtype dtype, std::vector<int64_t> shape, std::string_view bytes);
  void add_f32(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values);
  void add_f16(const std::string& name, std::vector<int64_t> shape, const std::vector<uint16_t>& values);

  // The complete file contents.
  std::string serialize() const;
  // Writes serialize() to `path` (through a temporary file renamed into place). Throws
  // std::runtime_error naming the path on failure.
  void write(const std::string& path) const;

 private:
  struct Item {
    std::string name;
    Dtype dtype;
    std::vector<int64_t> shape;
    uint64_t offset;
  };
  std::map<std::string, std::string> metadata_;
  std::vector<Item> items_;
  std::string data_;
};

// A file from a header JSON text and a data section, exactly as given (no checks, no padding):
// lets tests build broken files byte by byte.
std::string assemble_safetensors(std::string_view header_json, std::string_view data);

}  // namespace ds::model
