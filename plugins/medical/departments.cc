#include "departments.h"

#include <stdexcept>

#include "departments_data.h"

namespace ds::medical {

namespace {

std::vector<std::string_view> split(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  for (size_t start = 0;;) {
    size_t end = line.find(sep, start);
    out.push_back(line.substr(start, end == line.npos ? line.npos : end - start));
    if (end == line.npos) return out;
    start = end + 1;
  }
}

}  // namespace

const Departments& Departments::builtin() {
  static const Departments departments = parse(kDepartmentsTsv, "data/medical/departments.tsv");
  return departments;
}

Departments Departments::parse(std::string_view tsv, std::string_view source) {
  Departments d;
  size_t line_no = 0;
  for (std::string_view line : split(tsv, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    std::vector<std::string_view> f = split(line, '\t');
    const std::string where = std::string(source) + ":" + std::to_string(line_no) + ": ";
    if (line_no == 1) {
      if (f.size() < 3 || f[0] != "id" || f[1] != "name_en" || f[2] != "name_zh")
        throw std::invalid_argument(where + "expected the header 'id<TAB>name_en<TAB>name_zh ...'");
      continue;
    }
    if (f.size() < 3 || f[0].empty() || f[1].empty() || f[2].empty())
      throw std::invalid_argument(where + "expected id, name_en and name_zh, tab-separated and not empty");
    if (d.find(f[0])) throw std::invalid_argument(where + "department id '" + std::string(f[0]) + "' repeated");
    d.all_.push_back({std::string(f[0]), std::string(f[1]), std::string(f[2])});
  }
  if (d.all_.empty()) throw std::invalid_argument(std::string(source) + ": no departments");
  return d;
}

const Department* Departments::find(std::string_view id) const {
  for (const Department& d : all_)
    if (d.id == id) return &d;
  return nullptr;
}

}  // namespace ds::medical
