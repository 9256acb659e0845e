// Exact offset maps between two versions of a text (for example normalized -> decoded, or
// decoded -> original bytes).
//
// A map is a list of anchors (dst, src). Between two consecutive anchors the text is either copied
// unchanged ("linear": every byte maps one to one) or replaced as a unit (a character that NFKC
// rewrote, a multi-byte sequence that a decoder turned into one character). A span that starts or
// ends inside a replaced unit widens to the whole unit, so mapping never invents a split that the
// source does not have.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ds {

// A half-open byte range [begin, end).
struct Span {
  size_t begin = 0;
  size_t end = 0;
  size_t size() const { return end - begin; }
  bool operator==(const Span&) const = default;
};

class OffsetMap {
 public:
  struct Anchor {
    uint64_t dst = 0;
    uint64_t src = 0;
    // True when the bytes from this anchor to the next are copied one to one.
    bool linear = true;
  };

  OffsetMap() = default;

  // A map where dst and src are the same text of `size` bytes.
  static OffsetMap identity(size_t size);

  // Builds a map incrementally: append() pieces in order, then finish().
  class Builder {
   public:
    // `dst_len` bytes of output came from `src_len` bytes of input. `copied` means byte-for-byte.
    void append(size_t dst_len, size_t src_len, bool copied);
    OffsetMap finish();

   private:
    std::vector<Anchor> anchors_;
    uint64_t dst_ = 0;
    uint64_t src_ = 0;
    bool last_copied_ = false;
  };

  // Maps a start offset in dst to the start of the corresponding source bytes.
  size_t map_begin(size_t dst) const;
  // Maps an end offset in dst to the end of the corresponding source bytes.
  size_t map_end(size_t dst) const;
  Span map(Span dst) const { return {map_begin(dst.begin), map_end(dst.end)}; }

  // this: b -> a, inner: a -> src. Returns b -> src.
  OffsetMap compose(const OffsetMap& inner) const;

  size_t dst_size() const { return anchors_.empty() ? 0 : anchors_.back().dst; }
  size_t src_size() const { return anchors_.empty() ? 0 : anchors_.back().src; }
  bool empty() const { return anchors_.empty(); }
  const std::vector<Anchor>& anchors() const { return anchors_; }

 private:
  // Always starts with (0,0) and ends with (dst_size, src_size) once built.
  std::vector<Anchor> anchors_;
};

}  // namespace ds
