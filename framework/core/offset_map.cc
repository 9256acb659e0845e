#include "ds/offset_map.h"

#include <algorithm>
#include <stdexcept>

namespace ds {

OffsetMap OffsetMap::identity(size_t size) {
  Builder b;
  b.append(size, size, true);
  return b.finish();
}

void OffsetMap::Builder::append(size_t dst_len, size_t src_len, bool copied) {
  if (dst_len == 0 && src_len == 0) return;
  if (copied && dst_len != src_len) throw std::invalid_argument("OffsetMap: copied piece with unequal lengths");
  // Merge consecutive copied pieces into one linear run.
  bool merge = copied && last_copied_;
  if (!merge) anchors_.push_back({dst_, src_, copied});
  dst_ += dst_len;
  src_ += src_len;
  last_copied_ = copied;
}

OffsetMap OffsetMap::Builder::finish() {
  OffsetMap map;
  map.anchors_ = std::move(anchors_);
  if (map.anchors_.empty() || map.anchors_.front().dst != 0) map.anchors_.insert(map.anchors_.begin(), {0, 0, true});
  map.anchors_.push_back({dst_, src_, true});
  anchors_.clear();
  dst_ = src_ = 0;
  last_copied_ = false;
  return map;
}

size_t OffsetMap::map_begin(size_t dst) const {
  if (anchors_.empty()) return dst;
  if (dst >= anchors_.back().dst) return anchors_.back().src;
  // The last anchor at or before dst.
  auto it = std::upper_bound(anchors_.begin(), anchors_.end(), dst,
                             [](size_t d, const Anchor& a) { return d < a.dst; });
  --it;
  if (it->linear) return it->src + (dst - it->dst);
  return it->src;
}

size_t OffsetMap::map_end(size_t dst) const {
  if (anchors_.empty()) return dst;
  if (dst == 0) return 0;
  if (dst >= anchors_.back().dst) return anchors_.back().src;
  // The piece containing the byte just before dst.
  auto it = std::upper_bound(anchors_.begin(), anchors_.end(), dst - 1,
                             [](size_t d, const Anchor& a) { return d < a.dst; });
  auto piece = std::prev(it);
  if (piece->linear) return piece->src + (dst - piece->dst);
  return it->src;  // end of the replaced unit
}

OffsetMap OffsetMap::compose(const OffsetMap& inner) const {
  if (anchors_.empty()) return inner;
  if (inner.anchors_.empty()) return *this;
  // Walk the pieces of `this`; a linear piece of `this` is split at inner's anchors. Source bytes
  // that map to no output byte (a BOM, a removed control character) become zero-width replaced
  // pieces, so every later offset keeps its exact position in the source.
  // Pieces are held back one step: when an inner replaced unit straddles two pieces of `this`,
  // their source spans overlap and the two become one replaced unit, exactly as mapping twice
  // would widen them.
  Builder b;
  size_t src_done = 0;  // source bytes already handed to the builder
  struct Pending {
    size_t dst_len = 0;
    Span src;
    bool copied = false;
    bool active = false;
  } pending;
  auto flush = [&]() {
    if (!pending.active) return;
    if (pending.src.begin > src_done) b.append(0, pending.src.begin - src_done, false);
    b.append(pending.dst_len, pending.src.size(), pending.copied);
    src_done = pending.src.end;
    pending.active = false;
  };
  auto emit = [&](size_t dst_len, Span src, bool copied) {
    if (pending.active && src.begin < pending.src.end) {
      pending.dst_len += dst_len;
      pending.src.end = std::max(pending.src.end, src.end);
      pending.copied = false;
      return;
    }
    flush();
    pending = {dst_len, src, copied, true};
  };
  for (size_t i = 0; i + 1 < anchors_.size(); ++i) {
    const Anchor& a = anchors_[i];
    const Anchor& next = anchors_[i + 1];
    size_t dst_len = next.dst - a.dst;
    if (!a.linear) {
      emit(dst_len, inner.map({static_cast<size_t>(a.src), static_cast<size_t>(next.src)}), false);
      continue;
    }
    // Linear run [a.src, next.src) in the middle text: follow inner's pieces inside it.
    size_t pos = a.src;
    size_t end = next.src;
    while (pos < end) {
      auto it = std::upper_bound(inner.anchors_.begin(), inner.anchors_.end(), pos,
                                 [](size_t d, const Anchor& x) { return d < x.dst; });
      auto piece = std::prev(it);
      size_t piece_end = it == inner.anchors_.end() ? end : std::min<size_t>(end, it->dst);
      if (piece_end <= pos) piece_end = end;
      if (piece->linear) {
        size_t src_begin = piece->src + (pos - piece->dst);
        emit(piece_end - pos, {src_begin, src_begin + (piece_end - pos)}, true);
      } else {
        emit(piece_end - pos, inner.map({pos, piece_end}), false);
      }
      pos = piece_end;
    }
  }
  flush();
  if (inner.src_size() > src_done) b.append(0, inner.src_size() - src_done, false);
  return b.finish();
}

}  // namespace ds
