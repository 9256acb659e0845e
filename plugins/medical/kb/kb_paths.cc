#include "kb_paths.h"

#include <dlfcn.h>
#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <vector>

#include "kb_entry.h"

namespace ds::medical::kb {
namespace {

namespace fs = std::filesystem;

// share/deepseek/<rel> one or two levels above the folder of the binary holding this code.
std::vector<fs::path> installed(const fs::path& rel) {
  std::vector<fs::path> out;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&installed), &info) && info.dli_fname) {
    const fs::path dir = fs::absolute(info.dli_fname).parent_path();
    for (const fs::path& up : {dir.parent_path(), dir.parent_path().parent_path()})
      out.push_back(up / "share" / "deepseek" / rel);
  }
  return out;
}

fs::path first_existing(const fs::path& source_tree, const fs::path& rel) {
  std::error_code ec;
  if (fs::exists(source_tree, ec)) return source_tree;
  for (const fs::path& p : installed(rel))
    if (fs::exists(p, ec)) return p;
  return source_tree;
}

}  // namespace

fs::path default_kb_build_target() { return fs::path(DS_MEDICAL_SOURCE_DIR) / "data" / "kb" / "medical-kb.sqlite"; }

fs::path default_kb_file() {
  return first_existing(default_kb_build_target(), fs::path("medical") / "medical-kb.sqlite");
}

fs::path default_entries_dir() { return fs::path(DS_MEDICAL_SOURCE_DIR) / "data" / "kb" / "entries"; }

fs::path default_tokenizer() {
  return first_existing(fs::path(DS_MEDICAL_SOURCE_DIR) / "data" / "models" / "tokenizer.model",
                        fs::path("models") / "tokenizer.model");
}

std::string file_sha256(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw KbError("[medical.kb] " + path.string() + ": cannot open");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    throw KbError("[medical.kb] sha256: cannot initialize OpenSSL");
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw KbError("[medical.kb] " + path.string() + ": read error");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &n);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < n; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xF];
  }
  return out;
}

}  // namespace ds::medical::kb
