// The hospital departments (科室) the medical plug-in routes to: the 18 ids of
// data/medical/departments.tsv with their English and Chinese names, compiled into the plug-in
// (the TSV is the one source; CMake copies it in). The ids are the labels of the medical model's
// `department` head.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ds::medical {

struct Department {
  std::string id;       // "emergency", "cardiology", ...
  std::string name_en;  // "Emergency Department"
  std::string name_zh;  // "急诊科"

  // The name in "zh" or "en" (anything but "zh" is English).
  const std::string& name(std::string_view language) const { return language == "zh" ? name_zh : name_en; }
};

class Departments {
 public:
  // The compiled-in departments.tsv, parsed once. Thread-safe.
  static const Departments& builtin();

  // Parses TSV text with the header `id name_en name_zh ...` (extra columns ignored). Throws
  // std::invalid_argument naming `source` and the line for a short row, an empty field or a
  // repeated id.
  static Departments parse(std::string_view tsv, std::string_view source);

  const Department* find(std::string_view id) const;
  const std::vector<Department>& all() const { return all_; }

 private:
  std::vector<Department> all_;  // in file order
};

}  // namespace ds::medical
