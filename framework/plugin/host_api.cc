#include "plugin/host_api.h"

#include <cmath>
#include <cstddef>
#include <cstring>
#include <iterator>

namespace ds {
namespace {

ds_str view(const std::string& s) { return ds_str{s.data(), s.size()}; }
std::string copy(ds_str s) { return s.len ? std::string(s.ptr, s.len) : std::string(); }

// Fills the caller's struct with as many bytes of `full` as the caller's struct_size allows, so an
// older plug-in with a shorter struct is never written past its end.
template <class T>
ds_status fill(T* out, T full) {
  if (!out) return DS_STATUS_INVALID_ARGUMENT;
  uint32_t size = out->struct_size;
  if (size < sizeof(uint32_t)) return DS_STATUS_INVALID_ARGUMENT;
  full.struct_size = size;
  std::memcpy(out, &full, size < sizeof(T) ? size : sizeof(T));
  return DS_STATUS_OK;
}

ds_status fail(const ds_doc* d, ds_status status, std::string message) noexcept {
  try {
    const_cast<PluginDocHandle&>(PluginDocHandle::from(d)).last_error = std::move(message);
  } catch (...) {
    // Out of memory while recording the message: the status alone still tells the plug-in.
  }
  return status;
}

ds_status out_of_range(const ds_doc* d, const char* what, size_t index, size_t count) noexcept {
  try {
    return fail(d, DS_STATUS_OUT_OF_RANGE,
                std::string("[plugin.host] ") + what + " index " + std::to_string(index) + " out of range (" +
                    std::to_string(count) + " " + what + "s)");
  } catch (...) {
    return DS_STATUS_OUT_OF_RANGE;
  }
}

bool splits_utf8(const std::string& s, size_t offset) {
  return offset < s.size() && (static_cast<unsigned char>(s[offset]) & 0xC0) == 0x80;
}

ds_tensor tensor_view(const ds_doc* d, const std::string& name, const Tensor& t) {
  ds_tensor v{};
  v.name = view(name);
  v.shape = t.shape.data();
  v.rank = t.shape.size();
  v.data = t.data.data();
  v.size = t.data.size();
  if (!t.labels.empty()) {
    // The handle is the host's own per-call object: caching the ds_str array there keeps it valid
    // for the rest of the stage call, as the ABI promises for everything the host hands out.
    auto& handle = const_cast<PluginDocHandle&>(PluginDocHandle::from(d));
    auto [it, inserted] = handle.label_views.try_emplace(name);
    if (inserted)
      for (const std::string& label : t.labels) it->second.push_back(view(label));
    v.labels = it->second.data();
    v.label_count = it->second.size();
  }
  return v;
}

ds_str api_path(const ds_doc* d) { return view(PluginDocHandle::from(d).doc.source.path); }
ds_str api_text(const ds_doc* d) { return view(PluginDocHandle::from(d).doc.text); }
ds_str api_normalized(const ds_doc* d) { return view(PluginDocHandle::from(d).doc.normalized); }

size_t api_segment_count(const ds_doc* d) { return PluginDocHandle::from(d).doc.segments.size(); }

ds_status api_segment_at(const ds_doc* d, size_t i, ds_segment* out) {
  const auto& segs = PluginDocHandle::from(d).doc.segments;
  if (i >= segs.size()) return out_of_range(d, "segment", i, segs.size());
  const Segment& s = segs[i];
  ds_segment v{};
  v.begin = s.span.begin;
  v.end = s.span.end;
  v.kind = view(s.kind);
  v.number = view(s.number);
  v.level = s.level;
  return fill(out, v);
}

size_t api_token_count(const ds_doc* d) { return PluginDocHandle::from(d).doc.tokens.size(); }

ds_status api_token_at(const ds_doc* d, size_t i, ds_token* out) {
  const auto& toks = PluginDocHandle::from(d).doc.tokens;
  if (i >= toks.size()) return out_of_range(d, "token", i, toks.size());
  ds_token v{};
  v.id = toks[i].id;
  v.begin = toks[i].span.begin;
  v.end = toks[i].span.end;
  return fill(out, v);
}

size_t api_tensor_count(const ds_doc* d) { return PluginDocHandle::from(d).doc.outputs.size(); }

ds_status api_tensor_at(const ds_doc* d, size_t i, ds_tensor* out) {
  const auto& outputs = PluginDocHandle::from(d).doc.outputs;
  if (i >= outputs.size()) return out_of_range(d, "tensor", i, outputs.size());
  auto it = std::next(outputs.begin(), static_cast<std::ptrdiff_t>(i));
  return fill(out, tensor_view(d, it->first, it->second));
}

ds_status api_tensor_find(const ds_doc* d, ds_str name, ds_tensor* out) noexcept {
  try {
    const auto& outputs = PluginDocHandle::from(d).doc.outputs;
    auto it = outputs.find(copy(name));
    if (it == outputs.end())
      return fail(d, DS_STATUS_NOT_FOUND, "[plugin.host] the document has no tensor '" + copy(name) + "'");
    return fill(out, tensor_view(d, it->first, it->second));
  } catch (...) {
    return fail(d, DS_STATUS_ERROR, "[plugin.host] out of memory");
  }
}

size_t api_annotation_count(const ds_doc* d) { return PluginDocHandle::from(d).doc.annotations.size(); }

ds_status api_annotation_at(ds_doc* d, size_t i, ds_annotation* out) noexcept {
  try {
    PluginDocHandle& h = PluginDocHandle::from(d);
    const auto& anns = h.doc.annotations;
    if (i >= anns.size()) return out_of_range(d, "annotation", i, anns.size());
    const Annotation& a = anns[i];
    std::vector<ds_attribute>& attrs = h.attribute_views[i];
    attrs.clear();
    for (const auto& [k, v] : a.attributes) attrs.push_back({view(k), view(v)});
    ds_annotation v{};
    v.label = view(a.label);
    v.begin = a.span.begin;
    v.end = a.span.end;
    v.score = a.score;
    v.attributes = attrs.empty() ? nullptr : attrs.data();
    v.attribute_count = attrs.size();
    v.stage = view(a.stage);
    return fill(out, v);
  } catch (...) {
    return fail(d, DS_STATUS_ERROR, "[plugin.host] out of memory");
  }
}

ds_status api_add_annotation(ds_doc* d, const ds_annotation* in) noexcept {
  try {
    PluginDocHandle& h = PluginDocHandle::from(d);
    // `stage` is ignored on write, so a struct without it is complete.
    if (!in || in->struct_size < offsetof(ds_annotation, stage))
      return fail(d, DS_STATUS_INVALID_ARGUMENT, "[plugin.host] add_annotation: missing or truncated annotation");
    if (in->label.len == 0 || !in->label.ptr)
      return fail(d, DS_STATUS_INVALID_ARGUMENT, "[plugin.host] add_annotation: empty label");
    const std::string& text = h.doc.normalized;
    if (in->begin > in->end || in->end > text.size())
      return fail(d, DS_STATUS_INVALID_ARGUMENT,
                  "[plugin.host] add_annotation: span [" + std::to_string(in->begin) + ", " + std::to_string(in->end) +
                      ") is outside the normalized text (" + std::to_string(text.size()) + " bytes)");
    if (splits_utf8(text, in->begin) || splits_utf8(text, in->end))
      return fail(d, DS_STATUS_INVALID_ARGUMENT,
                  "[plugin.host] add_annotation: span [" + std::to_string(in->begin) + ", " + std::to_string(in->end) +
                      ") splits a UTF-8 character");
    if (!std::isfinite(in->score))
      return fail(d, DS_STATUS_INVALID_ARGUMENT, "[plugin.host] add_annotation: score is not a finite number");
    if (in->attribute_count > 0 && !in->attributes)
      return fail(d, DS_STATUS_INVALID_ARGUMENT, "[plugin.host] add_annotation: attributes missing");
    Annotation a;
    a.label = copy(in->label);
    a.span = {in->begin, in->end};
    a.score = in->score;
    for (size_t k = 0; k < in->attribute_count; ++k) {
      std::string key = copy(in->attributes[k].key);
      if (key.empty())
        return fail(d, DS_STATUS_INVALID_ARGUMENT, "[plugin.host] add_annotation: attribute with an empty key");
      a.attributes[std::move(key)] = copy(in->attributes[k].value);
    }
    a.stage = h.stage;
    h.doc.annotations.push_back(std::move(a));
    h.attribute_views.clear();
    return DS_STATUS_OK;
  } catch (...) {
    return fail(d, DS_STATUS_ERROR, "[plugin.host] out of memory");
  }
}

ds_status api_add_warning(ds_doc* d, ds_str message) noexcept {
  try {
    PluginDocHandle& h = PluginDocHandle::from(d);
    h.doc.warnings.push_back("[" + h.stage + "] " + copy(message));
    return DS_STATUS_OK;
  } catch (...) {
    return fail(d, DS_STATUS_ERROR, "[plugin.host] out of memory");
  }
}

ds_str api_last_error(const ds_doc* d) { return view(PluginDocHandle::from(d).last_error); }

const ds_host_api kHostApi = {
    sizeof(ds_host_api),
    DS_PLUGIN_ABI_MAJOR,
    DS_PLUGIN_ABI_MINOR,
    api_path,
    api_text,
    api_normalized,
    api_segment_count,
    api_segment_at,
    api_token_count,
    api_token_at,
    api_tensor_count,
    api_tensor_at,
    api_tensor_find,
    api_annotation_count,
    api_annotation_at,
    api_add_annotation,
    api_add_warning,
    api_last_error,
};

}  // namespace

const ds_host_api& plugin_host_api() { return kHostApi; }

}  // namespace ds
