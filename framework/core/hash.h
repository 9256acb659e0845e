// Content hashing for document keys and config hashes.
#pragma once

#include <string>
#include <string_view>

namespace ds {

// "sha256:<64 lowercase hex digits>" of the bytes.
std::string sha256_tagged(std::string_view bytes);

}  // namespace ds
