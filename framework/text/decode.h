// Charset decoding of raw document bytes into UTF-8 text with an exact offset map back to the bytes.
//
// Order of decisions: byte order mark -> strict UTF-8 -> statistical detection (ICU ucsdet plus our
// own check of how plausible a GB18030 or Big5 reading is for Chinese text). Undecodable bytes are
// never dropped silently: they fail the document or become U+FFFD with a warning naming the offsets.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ds/offset_map.h"

namespace ds {

struct DecodeOptions {
  // "auto", or a charset name ICU knows ("UTF-8", "GB18030", "GBK", "Big5", "UTF-16LE", "latin1" ...).
  std::string encoding = "auto";
  // 0..100: the least detector confidence accepted when the charset is guessed.
  int min_confidence = 30;
  // "fail": throw on the first undecodable bytes; "replace": U+FFFD plus a warning.
  std::string on_error = "fail";
};

struct DecodeResult {
  std::string text;           // UTF-8, without any byte order mark
  OffsetMap text_to_bytes;    // text offsets -> offsets into the input bytes
  std::string charset;        // "UTF-8", "UTF-16LE", "GB18030", "Big5", ... (IANA name where one exists)
  std::vector<std::string> warnings;  // each starts with "[decode]"
};

// Decodes `bytes`. Linear in the input size; thread-safe (no shared state).
// Throws std::runtime_error with a "[decode]" prefix for: binary input (NUL bytes outside UTF-16/32,
// or mostly control bytes), an unknown forced charset, an uncertain guess (confidence below
// min_confidence), or undecodable bytes when on_error is "fail" (the message names the byte offset).
// Empty input decodes to empty text, charset "UTF-8" and the warning "[decode] empty file".
DecodeResult decode_bytes(std::string_view bytes, const DecodeOptions& options);

}  // namespace ds
