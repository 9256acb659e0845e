// The host side of the plug-in C ABI's document view: a ds_host_api whose callbacks read and write
// a ds::Document through an opaque ds_doc handle.
//
// No text is copied on the way in: views point into the Document and are valid only while the
// handle lives (one process() call). Writes (annotations, warnings) are validated and copied into
// the Document. Every callback is noexcept; failures return a status and leave a message for
// last_error.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ds/document.h"
#include "ds/plugin_abi.h"

namespace ds {

// What a ds_doc* points to during one plug-in call. Not thread-safe: one handle per call.
struct PluginDocHandle {
  Document& doc;
  std::string stage;  // recorded as the stage of every annotation added through this handle
  std::string last_error;
  // Attribute arrays handed out by annotation_at, by annotation index; cleared by add_annotation.
  std::map<size_t, std::vector<ds_attribute>> attribute_views;
  // Label arrays handed out with tensors, by tensor name (valid while the handle lives).
  std::map<std::string, std::vector<ds_str>, std::less<>> label_views;

  ds_doc* c_handle() { return reinterpret_cast<ds_doc*>(this); }
  static PluginDocHandle& from(ds_doc* d) { return *reinterpret_cast<PluginDocHandle*>(d); }
  static const PluginDocHandle& from(const ds_doc* d) { return *reinterpret_cast<const PluginDocHandle*>(d); }
};

// The callback table, static and shared by every plug-in call. Thread-safe (it holds no state).
const ds_host_api& plugin_host_api();

}  // namespace ds
