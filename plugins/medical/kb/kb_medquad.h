// Reading the MedQuAD XML layout (github.com/abachaa/MedQuAD): a folder of collections
// (1_CancerGov_QA/, 2_GARD_QA/, ...), each a folder of XML files, each one <Document id source url>
// with <Focus>, optional <FocusAnnotations><Synonyms><Synonym>, and
// <QAPairs><QAPair><Question qid qtype>...</Question><Answer>...</Answer></QAPair>...</QAPairs>
// (and the older spellings a few files use: <doc docid corpus url> or <DiseaseFile fid ...>,
// <doctitle-focus>, <qaPairs><pair><question><answer>).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kb_entry.h"

namespace ds::medical::kb {

struct MedquadFile {
  std::vector<Entry> entries;  // one per pair with a non-empty answer (kind "medquad", lang "en")
  size_t empty_answers = 0;    // pairs skipped because the answer is empty (MedlinePlus removed them)
};

// Parses one file. `relative` names it in ids and Entry::origin ("1_CancerGov_QA/0000001_1.xml");
// entry ids are "medquad:<collection folder>:<qid>". Throws KbError "[medical.kb] <path>:<line>:
// <libxml2 message>" for a file that is not well-formed XML, or one without <QAPairs> under its root.
MedquadFile parse_medquad_file(const std::filesystem::path& path, const std::string& relative);

// The XML files under `dir` (recursively, following folder links), sorted by path. Throws KbError
// if `dir` is not a folder or holds no .xml file.
std::vector<std::filesystem::path> medquad_files(const std::filesystem::path& dir);

}  // namespace ds::medical::kb
