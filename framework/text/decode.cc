#include "text/decode.h"

#include "core/utf8.h"

#include <unicode/ucnv.h>
#include <unicode/ucsdet.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>

namespace ds {
namespace {

constexpr size_t kMaxListedOffsets = 10;
// Detection and the binary check look at the start of the file only; that keeps them cheap on
// large inputs, and the full decode still reports every bad byte.
constexpr size_t kSampleBytes = 64 * 1024;

using ConverterPtr = std::unique_ptr<UConverter, decltype(&ucnv_close)>;

std::string hex_bytes(std::string_view bytes, size_t offset, size_t count) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (size_t i = offset; i < bytes.size() && i < offset + count; ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    if (!out.empty()) out += ' ';
    out += "0x";
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";

// Collects undecodable byte ranges for the warning or the error message.
class ErrorLog {
 public:
  ErrorLog(std::string what, bool replace) : what_(std::move(what)), replace_(replace) {}

  // Records bad bytes at `offset`; throws right away in fail mode.
  void add(std::string_view bytes, size_t offset, size_t len) {
    if (!replace_) {
      throw std::runtime_error("[decode] " + what_ + " at byte offset " + std::to_string(offset) + " (" +
                               hex_bytes(bytes, offset, std::min<size_t>(len + 1, 4)) + ")");
    }
    if (offsets_.size() < kMaxListedOffsets) offsets_.push_back(offset);
    ++count_;
  }

  void warn(std::vector<std::string>& warnings) const {
    if (count_ == 0) return;
    std::string w = "[decode] " + std::to_string(count_) + " " + what_ + " sequence(s) replaced by U+FFFD at byte offset(s) ";
    for (size_t i = 0; i < offsets_.size(); ++i) w += (i ? ", " : "") + std::to_string(offsets_[i]);
    if (count_ > offsets_.size()) w += " (and " + std::to_string(count_ - offsets_.size()) + " more)";
    warnings.push_back(std::move(w));
  }

 private:
  std::string what_;
  bool replace_;
  std::vector<size_t> offsets_;
  size_t count_ = 0;
};

// --- UTF-8 -----------------------------------------------------------------------------------------

// Length of the run of ASCII bytes starting at p.
size_t ascii_run(const unsigned char* p, size_t n) {
  size_t i = 0;
  while (i + 8 <= n) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & 0x8080808080808080ull) break;
    i += 8;
  }
  while (i < n && p[i] < 0x80) ++i;
  return i;
}

struct Utf8Scan {
  size_t valid_multibyte = 0;
  size_t invalid = 0;
};

Utf8Scan scan_utf8(std::string_view bytes) {
  Utf8Scan scan;
  auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    i += ascii_run(p + i, n - i);
    if (i >= n) break;
    size_t bad = 0;
    size_t len = utf8_sequence(p + i, n - i, bad);
    if (len) {
      ++scan.valid_multibyte;
      i += len;
    } else {
      ++scan.invalid;
      i += bad;
    }
  }
  return scan;
}

DecodeResult decode_utf8(std::string_view bytes, size_t start, bool replace) {
  DecodeResult r;
  r.charset = "UTF-8";
  OffsetMap::Builder map;
  if (start) map.append(0, start, false);
  auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  ErrorLog errors("invalid UTF-8", replace);
  r.text.reserve(n - start);
  size_t run_begin = start;  // start of the well-formed run not yet copied
  size_t i = start;
  auto flush = [&](size_t end) {
    r.text.append(bytes.data() + run_begin, end - run_begin);
    map.append(end - run_begin, end - run_begin, true);
  };
  while (i < n) {
    i += ascii_run(p + i, n - i);
    if (i >= n) break;
    size_t bad = 0;
    size_t len = utf8_sequence(p + i, n - i, bad);
    if (len) {
      i += len;
      continue;
    }
    errors.add(bytes, i, bad);
    flush(i);
    r.text += kReplacementUtf8;
    map.append(kReplacementUtf8.size(), bad, false);
    i += bad;
    run_begin = i;
  }
  flush(n);
  r.text_to_bytes = map.finish();
  errors.warn(r.warnings);
  return r;
}

// --- ICU converters --------------------------------------------------------------------------------

ConverterPtr open_converter(const std::string& name) {
  UErrorCode status = U_ZERO_ERROR;
  ConverterPtr conv(ucnv_open(name.c_str(), &status), &ucnv_close);
  if (U_FAILURE(status) || !conv) throw std::runtime_error("[decode] unknown encoding '" + name + "'");
  ucnv_setToUCallBack(conv.get(), UCNV_TO_U_CALLBACK_STOP, nullptr, nullptr, nullptr, &status);
  return conv;
}

// True when every byte below 0x80 at a character boundary is that ASCII character and the
// converter keeps no shift state, so ASCII runs can be copied without asking ICU.
bool ascii_compatible(UConverter* conv) {
  UErrorCode status = U_ZERO_ERROR;
  switch (ucnv_getType(conv)) {
    case UCNV_SBCS: case UCNV_MBCS: case UCNV_LATIN_1: case UCNV_US_ASCII: case UCNV_UTF8: break;
    default: return false;
  }
  for (int b = 0; b < 0x80; ++b) {
    char c = static_cast<char>(b);
    const char* s = &c;
    ucnv_resetToUnicode(conv);
    UChar32 cp = ucnv_getNextUChar(conv, &s, &c + 1, &status);
    if (U_FAILURE(status) || cp != b) {
      ucnv_resetToUnicode(conv);
      return false;
    }
  }
  ucnv_resetToUnicode(conv);
  return true;
}

// How a charset reads a sample: whether it decodes cleanly and how many two-byte characters fall in
// the charset's block of common characters (GB2312 level 1, Big5's frequent Hanzi, CJK punctuation).
struct Trial {
  bool clean = true;
  size_t multibyte = 0;
  size_t common = 0;
};

enum class Family { kGb18030, kBig5, kOther };

bool is_common_pair(Family family, unsigned char lead, unsigned char trail) {
  if (lead >= 0xA1 && lead <= 0xA3) return true;
  if (family == Family::kGb18030) return lead >= 0xB0 && lead <= 0xD7 && trail >= 0xA1;
  if (family == Family::kBig5) return lead >= 0xA4 && lead <= 0xC6;
  return false;
}

Trial trial_decode(std::string_view sample, const std::string& charset, bool sample_is_prefix) {
  Trial t;
  ConverterPtr conv = open_converter(charset);
  Family family = charset == "GB18030" ? Family::kGb18030 : charset == "Big5" ? Family::kBig5 : Family::kOther;
  bool fast_ascii = ascii_compatible(conv.get());
  const char* s = sample.data();
  const char* end = s + sample.size();
  while (s < end) {
    if (fast_ascii) {
      s += ascii_run(reinterpret_cast<const unsigned char*>(s), end - s);
      if (s >= end) break;
    }
    const char* b = s;
    UErrorCode status = U_ZERO_ERROR;
    ucnv_getNextUChar(conv.get(), &s, end, &status);
    if (U_FAILURE(status)) {
      // A character cut by the end of a sample is not the file's fault.
      if (status == U_TRUNCATED_CHAR_FOUND && sample_is_prefix) break;
      t.clean = false;
      break;
    }
    if (s - b == 2) {
      ++t.multibyte;
      if (is_common_pair(family, static_cast<unsigned char>(b[0]), static_cast<unsigned char>(b[1]))) ++t.common;
    } else if (s - b > 2) {
      ++t.multibyte;
    }
    if (s == b) break;  // defensive: ICU always advances, but never loop forever
  }
  return t;
}

DecodeResult decode_icu(std::string_view bytes, size_t start, const std::string& converter_name,
                        const std::string& charset, bool replace) {
  DecodeResult r;
  r.charset = charset;
  ConverterPtr conv = open_converter(converter_name);
  bool fast_ascii = ascii_compatible(conv.get());
  ErrorLog errors("undecodable " + charset, replace);
  OffsetMap::Builder map;
  if (start) map.append(0, start, false);
  r.text.reserve(bytes.size() + bytes.size() / 2);
  const char* base = bytes.data();
  const char* s = base + start;
  const char* end = base + bytes.size();
  while (s < end) {
    if (fast_ascii) {
      size_t run = ascii_run(reinterpret_cast<const unsigned char*>(s), end - s);
      if (run) {
        r.text.append(s, run);
        map.append(run, run, true);
        s += run;
        if (s >= end) break;
      }
    }
    const char* b = s;
    UErrorCode status = U_ZERO_ERROR;
    UChar32 cp = ucnv_getNextUChar(conv.get(), &s, end, &status);
    if (s == b) s = b + 1;  // defensive: never stall on a byte ICU refuses to consume
    size_t src_len = static_cast<size_t>(s - b);
    if (U_FAILURE(status)) {
      errors.add(bytes, static_cast<size_t>(b - base), src_len);
      ucnv_resetToUnicode(conv.get());
      r.text += kReplacementUtf8;
      map.append(kReplacementUtf8.size(), src_len, false);
      continue;
    }
    size_t before = r.text.size();
    append_utf8(r.text, cp);
    size_t out_len = r.text.size() - before;
    bool same = out_len == src_len && std::memcmp(r.text.data() + before, b, src_len) == 0;
    map.append(out_len, src_len, same);
  }
  r.text_to_bytes = map.finish();
  errors.warn(r.warnings);
  return r;
}

// --- BOM, binary check, detection ----------------------------------------------------------------

struct Bom {
  std::string charset;  // empty: none
  size_t length = 0;
};

Bom find_bom(std::string_view b) {
  auto starts = [&](std::string_view prefix) { return b.substr(0, prefix.size()) == prefix; };
  using namespace std::string_view_literals;
  if (starts("\xEF\xBB\xBF"sv)) return {"UTF-8", 3};
  if (starts("\xFF\xFE\x00\x00"sv)) return {"UTF-32LE", 4};
  if (starts("\x00\x00\xFE\xFF"sv)) return {"UTF-32BE", 4};
  if (starts("\xFF\xFE"sv)) return {"UTF-16LE", 2};
  if (starts("\xFE\xFF"sv)) return {"UTF-16BE", 2};
  return {};
}

// Throws for binary input. Returns "UTF-16LE"/"UTF-16BE" when NUL bytes look like BOM-less UTF-16.
std::string check_binary(std::string_view bytes) {
  std::string_view sample = bytes.substr(0, kSampleBytes);
  const void* nul = std::memchr(bytes.data(), 0, bytes.size());
  if (nul) {
    size_t zeros[2] = {0, 0};
    for (size_t i = 0; i < (sample.size() & ~size_t{1}); ++i) zeros[i & 1] += sample[i] == 0;
    size_t pairs = sample.size() / 2;
    if (bytes.size() % 2 == 0 && pairs > 0) {
      if (zeros[1] * 5 >= pairs && zeros[0] * 8 <= zeros[1]) return "UTF-16LE";
      if (zeros[0] * 5 >= pairs && zeros[1] * 8 <= zeros[0]) return "UTF-16BE";
    }
    size_t offset = static_cast<const char*>(nul) - bytes.data();
    throw std::runtime_error("[decode] binary file (NUL byte at offset " + std::to_string(offset) + ")");
  }
  size_t controls = 0;
  for (char ch : sample) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != 0x1A && c != 0x1B) ||
        c == 0x7F)
      ++controls;
  }
  if (controls >= 4 && controls * 10 > sample.size()) {
    throw std::runtime_error("[decode] binary file (" + std::to_string(controls) + " control bytes in the first " +
                             std::to_string(sample.size()) + " bytes)");
  }
  return {};
}

struct Guess {
  std::string charset;
  int confidence = 0;
  bool clean = false;
};

std::map<std::string, int> icu_confidences(std::string_view sample) {
  std::map<std::string, int> out;
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<UCharsetDetector, decltype(&ucsdet_close)> det(ucsdet_open(&status), &ucsdet_close);
  if (U_FAILURE(status)) return out;
  ucsdet_setText(det.get(), sample.data(), static_cast<int32_t>(sample.size()), &status);
  int32_t count = 0;
  const UCharsetMatch** matches = ucsdet_detectAll(det.get(), &count, &status);
  if (U_FAILURE(status)) return out;
  for (int32_t i = 0; i < count; ++i) {
    UErrorCode s = U_ZERO_ERROR;
    const char* name = ucsdet_getName(matches[i], &s);
    int conf = ucsdet_getConfidence(matches[i], &s);
    if (U_SUCCESS(s) && name) out[name] = std::max(out[name], conf);
  }
  return out;
}

// Picks the charset of non-UTF-8 input among the ones a Chinese document pipeline meets.
Guess guess_charset(std::string_view bytes, std::string_view nul_hint, int min_confidence) {
  std::string_view sample = bytes.substr(0, kSampleBytes);
  bool prefix = sample.size() < bytes.size();
  std::map<std::string, int> icu = icu_confidences(sample);
  auto conf_of = [&](const char* name) {
    auto it = icu.find(name);
    return it == icu.end() ? 0 : it->second;
  };
  // ICU's detector often names EUC-JP/EUC-KR/Shift_JIS for short Han text; that evidence counts
  // for whichever Chinese reading is more plausible.
  int other_cjk = std::max({conf_of("EUC-JP"), conf_of("EUC-KR"), conf_of("Shift_JIS"), conf_of("ISO-2022-CN")});

  std::vector<Guess> guesses;
  Trial gb = trial_decode(sample, "GB18030", prefix);
  Trial big5 = trial_decode(sample, "Big5", prefix);
  auto plausibility = [](const Trial& t) {
    return t.multibyte >= 2 ? static_cast<int>(t.common * 100 / t.multibyte) : 0;
  };
  int gb_plaus = plausibility(gb);
  int big5_plaus = plausibility(big5);
  int gb_conf = std::max(conf_of("GB18030"), gb_plaus);
  int big5_conf = std::max(conf_of("Big5"), big5_plaus);
  if (gb_plaus >= big5_plaus) gb_conf = std::max(gb_conf, other_cjk);
  else big5_conf = std::max(big5_conf, other_cjk);
  // With equal evidence the simplified reading wins: both decode almost any double-byte text.
  if (gb_conf == big5_conf && gb_plaus < big5_plaus) ++big5_conf;
  guesses.push_back({"GB18030", gb_conf, gb.clean});
  guesses.push_back({"Big5", big5_conf, big5.clean});
  for (const char* name : {"UTF-16LE", "UTF-16BE"}) {
    int conf = conf_of(name);
    if (nul_hint == name) conf = std::max(conf, 90);
    if (conf == 0) continue;
    guesses.push_back({name, conf, bytes.size() % 2 == 0 && trial_decode(sample, name, prefix).clean});
  }
  for (const char* name : {"ISO-8859-1", "windows-1252"}) {
    int conf = conf_of(name);
    if (conf == 0) continue;
    guesses.push_back({name, conf, trial_decode(sample, name, prefix).clean});
  }
  // Clean decodings first, then confidence; the stable sort keeps the order above for ties.
  std::stable_sort(guesses.begin(), guesses.end(), [](const Guess& a, const Guess& b) {
    if (a.clean != b.clean) return a.clean;
    return a.confidence > b.confidence;
  });
  const Guess& best = guesses.front();
  if (best.confidence < min_confidence) {
    throw std::runtime_error("[decode] encoding uncertain: best guess " + best.charset + " with confidence " +
                             std::to_string(best.confidence) + " < min_confidence " +
                             std::to_string(min_confidence) + "; set the decode stage's 'encoding' option");
  }
  return best;
}

bool is_utf8_name(const std::string& name) {
  return iequals(name, "UTF-8") || iequals(name, "UTF8");
}

DecodeResult decode_as(std::string_view bytes, size_t start, const std::string& charset, bool replace) {
  if (is_utf8_name(charset)) return decode_utf8(bytes, start, replace);
  return decode_icu(bytes, start, charset, charset, replace);
}

// The MIME (else IANA) name ICU knows for a converter, else what the user wrote.
std::string display_name(const std::string& requested) {
  UErrorCode status = U_ZERO_ERROR;
  const char* canonical = ucnv_getAlias(requested.c_str(), 0, &status);
  if (U_FAILURE(status) || !canonical) return requested;
  for (const char* standard : {"MIME", "IANA"}) {
    UErrorCode s = U_ZERO_ERROR;
    const char* name = ucnv_getStandardName(canonical, standard, &s);
    if (U_SUCCESS(s) && name) return name;
  }
  return requested;
}

}  // namespace

DecodeResult decode_bytes(std::string_view bytes, const DecodeOptions& options) {
  if (options.on_error != "fail" && options.on_error != "replace") {
    throw std::runtime_error("[decode] on_error must be 'fail' or 'replace', got '" + options.on_error + "'");
  }
  bool replace = options.on_error == "replace";
  if (bytes.empty()) {
    DecodeResult r;
    r.charset = "UTF-8";
    r.text_to_bytes = OffsetMap::identity(0);
    r.warnings.push_back("[decode] empty file");
    return r;
  }
  Bom bom = find_bom(bytes);
  const std::string& forced = options.encoding;
  if (forced.empty() || iequals(forced, "auto")) {
    if (!bom.charset.empty()) return decode_as(bytes, bom.length, bom.charset, replace);
    std::string nul_hint = check_binary(bytes);
    if (nul_hint.empty()) {
      Utf8Scan scan = scan_utf8(bytes);
      if (scan.invalid == 0) {
        DecodeResult r;
        r.charset = "UTF-8";
        r.text.assign(bytes);
        r.text_to_bytes = OffsetMap::identity(bytes.size());
        return r;
      }
      // Mostly well-formed UTF-8 with a few bad bytes is damaged UTF-8, not another charset.
      if (scan.valid_multibyte > 0 && scan.valid_multibyte >= 4 * scan.invalid) {
        return decode_utf8(bytes, 0, replace);
      }
    }
    Guess guess = guess_charset(bytes, nul_hint, options.min_confidence);
    return decode_as(bytes, 0, guess.charset, replace);
  }

  open_converter(forced);  // validates the name before any work
  if (is_utf8_name(display_name(forced)) || is_utf8_name(forced)) {
    return decode_utf8(bytes, bom.charset == "UTF-8" ? bom.length : 0, replace);
  }
  std::string name = display_name(forced);
  // A BOM that agrees with the forced family decides the byte order and is skipped.
  bool utf16 = name.rfind("UTF-16", 0) == 0 || name.rfind("UTF-32", 0) == 0;
  if (utf16 && !bom.charset.empty() && bom.charset.substr(0, 6) == name.substr(0, 6)) {
    return decode_icu(bytes, bom.length, bom.charset, bom.charset, replace);
  }
  return decode_icu(bytes, 0, forced, name, replace);
}

}  // namespace ds
