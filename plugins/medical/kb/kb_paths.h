// Where the bundled KB, its entries and the tokenizer live, and file hashing.
#pragma once

#include <filesystem>
#include <string>

namespace ds::medical::kb {

// The KB file used when none is named: data/kb/medical-kb.sqlite of the source tree (built by
// `deepseek kb build`; ignored by git) when that exists, else share/deepseek/medical/medical-kb.sqlite
// above the folder of the running binary or plug-in (an installed tree); if neither exists, the
// source-tree path (so "not found" messages name where `kb build` writes by default).
std::filesystem::path default_kb_file();

// Where `deepseek kb build` writes by default: data/kb/medical-kb.sqlite of the source tree.
std::filesystem::path default_kb_build_target();

// The project's entries folder, data/kb/entries of the source tree.
std::filesystem::path default_entries_dir();

// The project's SentencePiece model, data/models/tokenizer.model of the source tree, else
// share/deepseek/models/tokenizer.model of an installed tree.
std::filesystem::path default_tokenizer();

// "sha256:<64 lowercase hex digits>" of the file's bytes (the framework's model-hash format).
// Throws KbError if it cannot be read.
std::string file_sha256(const std::filesystem::path& path);

}  // namespace ds::medical::kb
