// Test plug-in built with the C++ SDK: stages that throw, and one that writes outside the text.
// "boom" annotates the document, then throws if the text contains "boom" (the host must drop that
// annotation); "unknown" throws a non-std exception; "bad_span" adds an annotation past the end.
#include <stdexcept>

#include "ds/plugin.h"

namespace {

class Boom {
 public:
  static ds::sdk::StageInfo spec() {
    return {"boom", "throws on documents that say boom", {}, DS_FIELD_NORMALIZED, DS_FIELD_ANNOTATIONS};
  }
  void process(ds::sdk::DocumentView& doc, ds::sdk::Output& out) {
    out.add("fine", 0, doc.normalized().size());
    if (doc.normalized().find("boom") != std::string_view::npos)
      throw std::runtime_error("kaboom in " + std::string(doc.path()));
  }
};

class Unknown {
 public:
  static ds::sdk::StageInfo spec() { return {"unknown", "throws an int", {}, DS_FIELD_NORMALIZED, 0}; }
  void process(ds::sdk::DocumentView&, ds::sdk::Output&) { throw 42; }
};

class BadSpan {
 public:
  static ds::sdk::StageInfo spec() {
    return {"bad_span", "annotates past the end of the text", {}, DS_FIELD_NORMALIZED, DS_FIELD_ANNOTATIONS};
  }
  void process(ds::sdk::DocumentView& doc, ds::sdk::Output& out) {
    out.add("oops", 0, doc.normalized().size() + 10);
  }
};

}  // namespace

DS_PLUGIN(ds::sdk::Plugin("throwing", "0.0.1", "MIT", "stages that throw")
              .stage<Boom>()
              .stage<Unknown>()
              .stage<BadSpan>())
