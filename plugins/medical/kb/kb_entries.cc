#include "kb_entries.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace ds::medical::kb {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kRequired = {
    "id",         "lang",          "title",     "aliases", "symptoms", "self_care", "see_doctor_when",
    "department", "usual_urgency", "red_flags", "source",  "reviewer", "updated"};
const std::vector<std::string> kLangs = {"zh", "en"};
const std::vector<std::string> kUrgencies = {"emergency", "urgent", "routine", "self_care"};
const std::vector<std::string> kLevels = {"emergency", "urgent", "routine"};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string listed(const std::vector<std::string>& v) { return join(v, ", "); }

bool has_cjk(const std::string& s) {
  // U+3400..U+9FFF are 3-byte UTF-8 sequences led by 0xE3 (from 0x90) .. 0xE9.
  for (size_t i = 0; i + 2 < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]), c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c >= 0xE4 && c <= 0xE9) || (c == 0xE3 && c1 >= 0x90)) return true;
  }
  return false;
}

// Collects problems for one file, located by a node's mark.
class Problems {
 public:
  Problems(std::string name, std::vector<std::string>& errors) : name_(std::move(name)), errors_(errors) {}
  void add(const YAML::Mark& at, const std::string& key, const std::string& what) {
    std::string line = name_;
    if (!at.is_null()) {
      line += ':';
      line += std::to_string(at.line + 1);
      line += ':';
      line += std::to_string(at.column + 1);
    }
    line += ": ";
    if (!key.empty()) {
      line += key;
      line += ": ";
    }
    line += what;
    errors_.push_back(std::move(line));
  }

 private:
  std::string name_;
  std::vector<std::string>& errors_;
};

// A non-empty scalar string, or "" after recording the problem.
std::string read_string(const YAML::Node& n, const std::string& key, Problems& p, bool allow_empty = false) {
  if (!n.IsScalar()) {
    p.add(n.Mark(), key, "must be a string");
    return "";
  }
  std::string s = n.Scalar();
  if (!allow_empty && s.find_first_not_of(" \t\r\n") == std::string::npos) p.add(n.Mark(), key, "is empty");
  return s;
}

std::vector<std::string> read_strings(const YAML::Node& n, const std::string& key, Problems& p) {
  std::vector<std::string> out;
  if (!n.IsSequence()) {
    p.add(n.Mark(), key, "must be a list of strings");
    return out;
  }
  if (n.size() == 0) p.add(n.Mark(), key, "is an empty list");
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string item_key = key + "[" + std::to_string(i) + "]";
    if (!n[i].IsScalar() || n[i].Scalar().find_first_not_of(" \t\r\n") == std::string::npos) {
      p.add(n[i].Mark(), item_key, "must be a non-empty string");
      continue;
    }
    out.push_back(n[i].Scalar());
  }
  return out;
}

Entry read_entry(const YAML::Node& node, size_t index, const std::string& name, Problems& p) {
  Entry e;
  e.origin = name + ":" + std::to_string(node.Mark().line + 1);
  std::string label = "[" + std::to_string(index) + "]";
  if (!node.IsMap()) {
    p.add(node.Mark(), label, "an entry must be a mapping of fields");
    return e;
  }
  if (node["id"] && node["id"].IsScalar()) label = node["id"].Scalar();
  auto key_of = [&](const std::string& k) { return label + "." + k; };

  for (const auto& kv : node) {
    const std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    if (!contains(kRequired, k) && k != "translation_of")
      p.add(kv.first.Mark(), key_of(k), "unknown field (allowed: " + listed(kRequired) + ", translation_of)");
  }
  for (const std::string& k : kRequired)
    if (!node[k]) p.add(node.Mark(), key_of(k), "missing field");

  auto str = [&](const char* k, std::string& into) {
    if (const YAML::Node n = node[k]) into = read_string(n, key_of(k), p);
  };
  auto strs = [&](const char* k, std::vector<std::string>& into) {
    if (const YAML::Node n = node[k]) into = read_strings(n, key_of(k), p);
  };
  str("id", e.id);
  str("lang", e.lang);
  str("title", e.title);
  str("department", e.department);
  str("usual_urgency", e.usual_urgency);
  str("source", e.source);
  str("reviewer", e.reviewer);
  str("updated", e.updated);
  if (node["translation_of"]) str("translation_of", e.translation_of);
  strs("aliases", e.aliases);
  strs("symptoms", e.symptoms);
  strs("self_care", e.self_care);
  strs("red_flags", e.red_flags);

  static const std::regex id_re("^kb-[a-z]+-[0-9]{3}$"), date_re("^[0-9]{4}-[0-9]{2}-[0-9]{2}$");
  auto at = [&](const char* k) { return node[k] ? node[k].Mark() : node.Mark(); };
  if (!e.id.empty() && !std::regex_match(e.id, id_re))
    p.add(at("id"), key_of("id"), "'" + e.id + "' does not match kb-<area>-<nnn>");
  if (!e.lang.empty() && !contains(kLangs, e.lang))
    p.add(at("lang"), key_of("lang"), "'" + e.lang + "' is not one of: zh, en");
  if (!e.department.empty() && !contains(department_keys(), e.department))
    p.add(at("department"), key_of("department"), "'" + e.department + "' is not one of: " + listed(department_keys()));
  if (!e.usual_urgency.empty() && !contains(kUrgencies, e.usual_urgency))
    p.add(at("usual_urgency"), key_of("usual_urgency"),
          "'" + e.usual_urgency + "' is not one of: " + listed(kUrgencies));
  if (!e.updated.empty() && !std::regex_match(e.updated, date_re))
    p.add(at("updated"), key_of("updated"), "'" + e.updated + "' is not a YYYY-MM-DD date (quote it)");

  std::set<std::string> seen;
  for (const std::string& a : e.aliases)
    if (!seen.insert(a).second) p.add(at("aliases"), key_of("aliases"), "duplicate alias '" + a + "'");

  if (const YAML::Node list = node["see_doctor_when"]) {
    if (!list.IsSequence() || list.size() == 0) {
      p.add(list.Mark(), key_of("see_doctor_when"), "must be a non-empty list of {level, when}");
    } else {
      for (size_t i = 0; i < list.size(); ++i) {
        const YAML::Node item = list[i];
        const std::string k = key_of("see_doctor_when[" + std::to_string(i) + "]");
        if (!item.IsMap() || !item["level"] || !item["when"] || item.size() != 2) {
          p.add(item.Mark(), k, "must be a mapping with exactly 'level' and 'when'");
          continue;
        }
        SeeDoctor s{read_string(item["level"], k + ".level", p), read_string(item["when"], k + ".when", p)};
        if (!s.level.empty() && !contains(kLevels, s.level))
          p.add(item["level"].Mark(), k + ".level", "'" + s.level + "' is not one of: " + listed(kLevels));
        e.see_doctor_when.push_back(std::move(s));
      }
    }
  }

  if (e.lang == "zh") {
    std::string text = e.title + join(e.symptoms, " ") + join(e.self_care, " ");
    if (!has_cjk(text)) p.add(at("lang"), key_of("lang"), "is zh but title/symptoms/self_care have no Chinese text");
  } else if (e.lang == "en" && has_cjk(e.title)) {
    p.add(at("title"), key_of("title"), "lang is en but the title is Chinese");
  }
  return e;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw KbError("[medical.kb] " + path.string() + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

const std::vector<std::string>& department_keys() {
  static const std::vector<std::string> keys = {
      "emergency",       "cardiology",  "respiratory", "gastroenterology", "neurology",          "endocrinology",
      "general_surgery", "orthopedics", "obgyn",       "pediatrics",       "dermatology",        "ent",
      "ophthalmology",   "stomatology", "psychiatry",  "urology",          "infectious_disease", "general_practice"};
  return keys;
}

std::vector<Entry> parse_entries(const std::string& yaml_text, const std::string& name,
                                 std::vector<std::string>& errors) {
  Problems p(name, errors);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    p.add(e.mark, "", "cannot parse: " + e.msg);
    return {};
  }
  std::vector<Entry> out;
  if (root.IsNull()) return out;
  if (!root.IsSequence()) {
    p.add(root.Mark(), "", "the top level must be a list of entries");
    return out;
  }
  for (size_t i = 0; i < root.size(); ++i) out.push_back(read_entry(root[i], i, name, p));
  return out;
}

void check_links(const std::vector<Entry>& entries, std::vector<std::string>& errors) {
  std::map<std::string, const Entry*> by_id;
  for (const Entry& e : entries) {
    if (e.id.empty()) continue;
    auto [it, fresh] = by_id.emplace(e.id, &e);
    if (!fresh) errors.push_back(e.origin + ": " + e.id + ".id: duplicate id (first in " + it->second->origin + ")");
  }
  std::set<std::pair<std::string, std::string>> pairs;
  for (const Entry& e : entries) {
    if (e.translation_of.empty()) continue;
    const std::string where = e.origin + ": " + e.id + ".translation_of: ";
    auto it = by_id.find(e.translation_of);
    if (it == by_id.end()) {
      errors.push_back(where + "'" + e.translation_of + "' does not exist");
      continue;
    }
    const Entry& t = *it->second;
    if (t.lang == e.lang) errors.push_back(where + "'" + t.id + "' has the same language");
    if (!t.translation_of.empty())
      errors.push_back(where + "'" + t.id + "' is itself a translation; link to the original");
    if (!pairs.emplace(t.id, e.lang).second)
      errors.push_back(where + "'" + t.id + "' already has a " + e.lang + " translation");
    if (t.department != e.department || t.usual_urgency != e.usual_urgency)
      errors.push_back(where + "department/usual_urgency differ from '" + t.id + "' (a pair must triage the same way)");
  }
}

std::vector<Entry> load_entries(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw KbError("[medical.kb] " + dir.string() + ": not a folder of KB entries");
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(dir)) {
    const std::string ext = f.path().extension().string();
    if (f.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(f.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw KbError("[medical.kb] " + dir.string() + ": no .yaml files");
  std::vector<std::string> errors;
  std::vector<Entry> entries;
  for (const fs::path& f : files) {
    std::vector<Entry> got = parse_entries(read_text(f), (dir / f.filename()).string(), errors);
    for (Entry& e : got) {
      // Entry::origin names the file relative to the folder; messages above used the full path.
      e.origin = f.filename().string() + e.origin.substr(e.origin.rfind(':'));
      entries.push_back(std::move(e));
    }
  }
  std::vector<std::string> link_errors;
  check_links(entries, link_errors);
  for (std::string& l : link_errors) errors.push_back((dir / l).string());
  if (!errors.empty()) {
    std::string msg = "[medical.kb] " + std::to_string(errors.size()) + " problem(s) in the KB entries:";
    for (const std::string& e : errors) msg += "\n  " + e;
    throw KbError(msg);
  }
  return entries;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
  return out;
}

std::string passage_text(const Entry& e) {
  if (e.kind == "medquad") return e.title + "\n" + e.body;
  return e.title + "\n" + join(e.aliases, "; ") + "\n" + join(e.symptoms, "; ");
}

}  // namespace ds::medical::kb
