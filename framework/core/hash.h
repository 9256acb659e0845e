// Content hashing for document keys and config hashes.
#pragma once

#include <string>
#include <string_view>

namespace ds {

// "sha256:<64 lowercase hex digits>" of the bytes.
std::string sha256_tagged(std::string_view bytes);

// The same for a file's contents, read in pieces. Throws std::runtime_error naming the file when it
// cannot be read.
std::string sha256_file_tagged(const std::string& path);

}  // namespace ds
