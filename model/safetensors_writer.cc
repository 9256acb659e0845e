#include "model/safetensors_writer.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace ds::model {

void SafetensorsWriter::set_metadata(const std::string& key, std::string value) { metadata_[key] = std::move(value); }

void SafetensorsWriter::add(const std::string& name, Dtype dtype, std::vector<int64_t> shape, std::string_view bytes) {
  if (name == "__metadata__") throw std::invalid_argument("safetensors: '__metadata__' is not a tensor name");
  for (const Item& it : items_)
    if (it.name == name) throw std::invalid_argument("safetensors: tensor '" + name + "' added twice");
  uint64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0) throw std::invalid_argument("safetensors: tensor '" + name + "' has a negative dimension");
    numel *= static_cast<uint64_t>(d);
  }
  if (numel * dtype_size(dtype) != bytes.size())
    throw std::invalid_argument("safetensors: tensor '" + name + "' " + shape_text(shape) + " needs " +
                                std::to_string(numel * dtype_size(dtype)) + " bytes, got " +
                                std::to_string(bytes.size()));
  data_.resize((data_.size() + 3) / 4 * 4, '\0');
  items_.push_back({name, dtype, std::move(shape), data_.size()});
  data_.append(bytes);
}

void SafetensorsWriter::add_f32(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values) {
  add(name, Dtype::kF32, std::move(shape),
      std::string_view(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
}

void SafetensorsWriter::add_f16(const std::string& name, std::vector<int64_t> shape,
                                const std::vector<uint16_t>& values) {
  add(name, Dtype::kF16, std::move(shape),
      std::string_view(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(uint16_t)));
}

std::string SafetensorsWriter::serialize() const {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata_) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  for (const Item& it : items_) {
    // Only the tensor's own bytes: the alignment padding after it belongs to no tensor.
    uint64_t numel = 1;
    for (int64_t d : it.shape) numel *= static_cast<uint64_t>(d);
    uint64_t end = it.offset + numel * dtype_size(it.dtype);
    header[it.name] = {{"dtype", dtype_name(it.dtype)}, {"shape", it.shape}, {"data_offsets", {it.offset, end}}};
  }
  std::string text = header.dump();
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  return assemble_safetensors(text, data_);
}

void SafetensorsWriter::write(const std::string& path) const {
  std::string bytes = serialize();
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("safetensors: cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("safetensors: cannot rename " + tmp + " to " + path);
}

std::string assemble_safetensors(std::string_view header_json, std::string_view data) {
  std::string out(8, '\0');
  uint64_t n = header_json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out.append(header_json);
  out.append(data);
  return out;
}

}  // namespace ds::model
