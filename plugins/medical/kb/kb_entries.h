// Loading and validating the project's knowledge-base entries (data/kb/entries/*.yaml).
//
// The structural rules of data/kb/schema.md are checked here: required and unknown fields, types,
// non-empty lists of non-empty strings, allowed values (lang, department, usual_urgency, levels),
// id pattern and uniqueness, date format, translation links (target exists, is an original in the
// other language). The content rules (120/911 first in emergencies, crisis lines, ...) stay with
// data/kb/check_kb.py, which remains the full checker.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kb_entry.h"

namespace ds::medical::kb {

// The 18 department keys of schema.md, in table order.
const std::vector<std::string>& department_keys();

// Every entry of every *.yaml / *.yml file directly in `dir`, files in name order, entries in file
// order; Entry::origin is "<file name>:<line>". Throws KbError listing every problem found, one
// per line, each as "<dir>/<file>:<line>:<column>: <entry id or index>.<key>: <what is wrong>".
std::vector<Entry> load_entries(const std::filesystem::path& dir);

// The same for one file's text (`name` is used in messages and in Entry::origin); problems are
// appended to `errors` instead of thrown. Cross-entry rules (unique ids, translation links) are
// checked by check_links.
std::vector<Entry> parse_entries(const std::string& yaml_text, const std::string& name,
                                 std::vector<std::string>& errors);

// Unique ids and translation links over all entries; problems appended to `errors`.
void check_links(const std::vector<Entry>& entries, std::vector<std::string>& errors);

}  // namespace ds::medical::kb
