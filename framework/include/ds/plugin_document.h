// Plug-in SDK (header-only, C++20): reading the document and writing results during `process`.
//
// A DocumentView and an Output exist only during one process() call. Every string_view and span
// they return points into host memory and is valid until process() returns; AnnotationView
// contents are invalidated by the next Output::add. Host failures (a span outside the text, ...)
// throw HostError, which the SDK turns into a failed document with the host's message.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ds/plugin_abi.h"

namespace ds::sdk {

class HostError : public std::runtime_error {
 public:
  HostError(ds_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  ds_status status() const { return status_; }

 private:
  ds_status status_;
};

struct SegmentView {
  size_t begin = 0;  // bytes in normalized
  size_t end = 0;
  std::string_view kind;    // "sentence", "clause", "heading"
  std::string_view number;  // numbering as written; may be empty
  int level = 0;
  std::string_view text;    // normalized[begin, end)
};

struct TokenView {
  int32_t id = 0;
  size_t begin = 0;
  size_t end = 0;
};

struct TensorView {
  std::string_view name;
  std::span<const int64_t> shape;
  std::span<const float> data;  // row-major
  std::vector<std::string_view> labels;  // names of the last dimension's entries (head labels); may be empty

  // Index of `label` in `labels`, or -1.
  int label_index(std::string_view label) const {
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == label) return static_cast<int>(i);
    return -1;
  }
};

struct AnnotationView {
  std::string_view label;
  size_t begin = 0;
  size_t end = 0;
  double score = 0.0;
  std::vector<std::pair<std::string_view, std::string_view>> attributes;
  std::string_view stage;
};

using Attributes = std::vector<std::pair<std::string, std::string>>;

namespace detail {

inline std::string_view view(ds_str s) { return s.len ? std::string_view(s.ptr, s.len) : std::string_view(); }
inline ds_str str(std::string_view s) { return ds_str{s.data(), s.size()}; }

inline void check_host(const ds_host_api* host) {
  if (!host || host->struct_size < sizeof(ds_host_api))
    throw std::runtime_error("[sdk.abi] the host's API table is older than this SDK");
}

}  // namespace detail

class DocumentView {
 public:
  DocumentView(ds_doc* doc, const ds_host_api* host) : doc_(doc), host_(host) { detail::check_host(host); }

  std::string_view path() const { return detail::view(host_->path(doc_)); }
  std::string_view text() const { return detail::view(host_->text(doc_)); }
  std::string_view normalized() const { return detail::view(host_->normalized(doc_)); }

  // normalized[begin, end), clamped to the text.
  std::string_view slice(size_t begin, size_t end) const {
    std::string_view n = normalized();
    begin = std::min(begin, n.size());
    end = std::min(std::max(end, begin), n.size());
    return n.substr(begin, end - begin);
  }

  size_t segment_count() const { return host_->segment_count(doc_); }
  SegmentView segment(size_t i) const {
    ds_segment s{};
    s.struct_size = sizeof s;
    check(host_->segment_at(doc_, i, &s));
    return {s.begin, s.end, detail::view(s.kind), detail::view(s.number), s.level, slice(s.begin, s.end)};
  }
  std::vector<SegmentView> segments() const {
    std::vector<SegmentView> out;
    for (size_t i = 0, n = segment_count(); i < n; ++i) out.push_back(segment(i));
    return out;
  }

  size_t token_count() const { return host_->token_count(doc_); }
  TokenView token(size_t i) const {
    ds_token t{};
    t.struct_size = sizeof t;
    check(host_->token_at(doc_, i, &t));
    return {t.id, t.begin, t.end};
  }
  std::vector<TokenView> tokens() const {
    std::vector<TokenView> out;
    for (size_t i = 0, n = token_count(); i < n; ++i) out.push_back(token(i));
    return out;
  }

  // The named model output, or nullopt if the document has none of that name.
  std::optional<TensorView> tensor(std::string_view name) const {
    ds_tensor t{};
    t.struct_size = sizeof t;
    ds_status st = host_->tensor_find(doc_, detail::str(name), &t);
    if (st == DS_STATUS_NOT_FOUND) return std::nullopt;
    check(st);
    return to_view(t);
  }
  std::vector<TensorView> tensors() const {
    std::vector<TensorView> out;
    for (size_t i = 0, n = host_->tensor_count(doc_); i < n; ++i) {
      ds_tensor t{};
      t.struct_size = sizeof t;
      check(host_->tensor_at(doc_, i, &t));
      out.push_back(to_view(t));
    }
    return out;
  }

  size_t annotation_count() const { return host_->annotation_count(doc_); }
  AnnotationView annotation(size_t i) const {
    ds_annotation a{};
    a.struct_size = sizeof a;
    check(host_->annotation_at(doc_, i, &a));
    AnnotationView v{detail::view(a.label), a.begin, a.end, a.score, {}, detail::view(a.stage)};
    for (size_t k = 0; k < a.attribute_count; ++k)
      v.attributes.emplace_back(detail::view(a.attributes[k].key), detail::view(a.attributes[k].value));
    return v;
  }

 private:
  static TensorView to_view(const ds_tensor& t) {
    TensorView v{detail::view(t.name), std::span<const int64_t>(t.shape, t.rank), std::span<const float>(t.data, t.size), {}};
    // A host older than ABI 1.1 leaves the fields beyond its struct_size zeroed.
    if (t.struct_size >= offsetof(ds_tensor, label_count) + sizeof(size_t) && t.labels)
      for (size_t i = 0; i < t.label_count; ++i) v.labels.push_back(detail::view(t.labels[i]));
    return v;
  }
  void check(ds_status st) const {
    if (st != DS_STATUS_OK) throw HostError(st, std::string(detail::view(host_->last_error(doc_))));
  }

  ds_doc* doc_;
  const ds_host_api* host_;
};

// Where a stage writes its results. The host copies everything; spans are bytes in normalized.
class Output {
 public:
  Output(ds_doc* doc, const ds_host_api* host) : doc_(doc), host_(host) { detail::check_host(host); }

  // Adds an annotation. Throws HostError if the span is outside the normalized text, splits a
  // UTF-8 character, or the label is empty.
  void add(std::string_view label, size_t begin, size_t end, double score = 1.0, const Attributes& attributes = {}) {
    std::vector<ds_attribute> attrs;
    attrs.reserve(attributes.size());
    for (const auto& [k, v] : attributes) attrs.push_back({detail::str(k), detail::str(v)});
    ds_annotation a{};
    a.struct_size = sizeof a;
    a.label = detail::str(label);
    a.begin = begin;
    a.end = end;
    a.score = score;
    a.attributes = attrs.data();
    a.attribute_count = attrs.size();
    check(host_->add_annotation(doc_, &a));
  }

  // Adds a non-fatal warning to the document.
  void warn(std::string_view message) { check(host_->add_warning(doc_, detail::str(message))); }

 private:
  void check(ds_status st) const {
    if (st != DS_STATUS_OK) throw HostError(st, std::string(detail::view(host_->last_error(doc_))));
  }

  ds_doc* doc_;
  const ds_host_api* host_;
};

}  // namespace ds::sdk
