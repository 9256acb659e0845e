#include "report.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <optional>

#include "code_points.h"
#include "sinks/json_writer.h"
#include "sinks/result_fields.h"

namespace ds::legal_extract {

namespace {

// Code points of context shown before and after a clause, and the longest clause shown whole.
constexpr size_t kContext = 160;
constexpr size_t kLongSpan = 4000;
constexpr size_t kLongHead = 3000;
constexpr size_t kLongTail = 500;

constexpr const char* kStyle = R"css(
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#1d1d1f;line-height:1.5}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc;word-break:break-all}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #d0d0d0;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
.done{color:#176b2c;font-weight:600}.failed{color:#b00020;font-weight:600}.missing{color:#8a6100;font-weight:600}
.note{color:#8a6100}.err{color:#b00020;white-space:pre-wrap}
.ctx{white-space:pre-wrap;background:#fafafa;border:1px solid #e3e3e3;padding:.5em;font-size:.95em}
mark{background:#fff0a8;padding:0}mark .v{background:#bfe3ff;border-bottom:2px solid #3d8bd0}
.omit{color:#777;font-style:italic}
details{margin:.3em 0}summary{cursor:pointer}
.small{font-size:.85em;color:#555}
ul.toc{columns:2}
)css";

void append_replacement(std::string& out) { out += "\xEF\xBF\xBD"; }

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string field(const ValueItem& v, const char* name) {
  auto it = v.fields.find(name);
  return it == v.fields.end() ? std::string() : it->second;
}

std::string document_anchor(int n) { return "doc-" + std::to_string(n); }

// The clause's text with the values inside it marked: `span` is the row's text, the values'
// offsets are relative to the row start. Overlapping values keep the first (longest) one.
std::string marked_span(std::string_view span, const Row& row) {
  CodePointText t(span);
  std::vector<const ValueItem*> values;
  for (const ValueItem& v : row.values)
    if (v.start >= row.start && v.end <= row.end && v.end > v.start) values.push_back(&v);
  std::stable_sort(values.begin(), values.end(), [](const ValueItem* a, const ValueItem* b) {
    if (a->start != b->start) return a->start < b->start;
    return a->end > b->end;
  });
  // A long clause shows its head and tail only, with one marker where the middle is left out.
  bool omission_shown = false;
  auto piece = [&](size_t b, size_t e) {
    if (t.size() <= kLongSpan) return html_escape(t.slice(b, e));
    const size_t head_end = kLongHead, tail_begin = t.size() - kLongTail;
    std::string out;
    if (b < head_end) out += html_escape(t.slice(b, std::min(e, head_end)));
    if (b < tail_begin && e > head_end && !omission_shown) {
      out += "<span class=\"omit\">[… " + std::to_string(tail_begin - head_end) + " characters not shown …]</span>";
      omission_shown = true;
    }
    if (e > tail_begin) out += html_escape(t.slice(std::max(b, tail_begin), e));
    return out;
  };
  std::string out;
  size_t at = 0;
  for (const ValueItem* v : values) {
    size_t b = v->start - row.start, e = v->end - row.start;
    if (b < at || e > t.size()) continue;
    out += piece(at, b);
    out += "<span class=\"v\" title=\"" + html_escape(v->kind + ": " + value_summary(*v)) + "\">" + piece(b, e) +
           "</span>";
    at = e;
  }
  out += piece(at, t.size());
  return out;
}

std::string values_cell(const Row& row) {
  std::string out;
  for (const ValueItem& v : row.values) {
    if (!out.empty()) out += "<br>";
    out += "<b>" + html_escape(v.kind) + "</b> " + html_escape(value_summary(v));
    if (!field(v, "warning").empty()) out += " <span class=\"note\">⚠ " + html_escape(field(v, "warning")) + "</span>";
  }
  return out;
}

std::string status_html(const ExtractedDocument& d) {
  if (!d.found) return "<span class=\"missing\">not processed (the run stopped before it)</span>";
  if (d.status == "failed") return "<span class=\"failed\">failed</span>";
  return "<span class=\"done\">done</span>";
}

std::string now_iso() { return iso8601_utc(now_unix_ms()); }

}  // namespace

std::string html_escape(std::string_view text) {
  const std::string clean = sanitize_utf8(text);
  std::string out;
  out.reserve(clean.size() + clean.size() / 8);
  for (char c : clean) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F)
          append_replacement(out);
        else
          out += c;
    }
  }
  return out;
}

std::string value_summary(const ValueItem& v) {
  const std::string value = field(v, "value");
  if (v.kind == "money" || v.kind == "amount")
    return value + (field(v, "currency").empty() ? "" : " " + field(v, "currency"));
  if (v.kind == "date") {
    if (!field(v, "derivation").empty()) return field(v, "derivation");
    return value.empty() ? "(unresolved)" : value;
  }
  if (v.kind == "duration") return value + (field(v, "unit").empty() ? "" : " " + field(v, "unit"));
  if (v.kind == "rate") {
    const std::string per = field(v, "per");
    return value + (per.empty() || per == "none" ? "" : " / " + per);
  }
  if (v.kind == "party") {
    std::string role = field(v, "role"), name = field(v, "name");
    std::string out = role.empty() ? name : role + ": " + (name.empty() ? "(blank)" : name);
    if (!field(v, "address").empty()) out += " (" + field(v, "address") + ")";
    return out;
  }
  std::string out;
  for (const auto& [k, val] : v.fields) out += (out.empty() ? "" : ", ") + k + "=" + val;
  return out.empty() ? v.text : out;
}

HtmlReport::HtmlReport(const std::string& path) : path_(path), body_path_(path + ".body"), body_(body_path_) {}

HtmlReport::~HtmlReport() = default;

void HtmlReport::add(const ExtractedDocument& d) {
  const int n = ++documents_;
  const std::string anchor = document_anchor(n);
  contents_ +=
      "<li><a href=\"#" + anchor + "\">" + html_escape(d.key.path) + "</a> " + status_html(d) +
      (d.found && d.status == "done" ? " <span class=\"small\">" + std::to_string(d.rows.size()) + " rows</span>"
                                     : "") +
      "</li>\n";

  std::string h = "<section id=\"" + anchor + "\">\n<h2>" + html_escape(d.key.path) + "</h2>\n<p>" + status_html(d);
  if (d.found) {
    h += " · " + html_escape(d.charset) + " · " + std::to_string(d.size) + " bytes";
    if (d.decoded_text) h += " · " + std::to_string(d.text_code_points) + " characters";
    if (!d.key.content_hash.empty())
      h += " · <span class=\"small\">sha256 " + html_escape(bare_sha256(d.key.content_hash).substr(0, 16)) + "…</span>";
  }
  h += "</p>\n";
  if (d.found && d.status == "failed")
    h += "<p class=\"err\">[" + html_escape(d.failed_stage) + "] " + html_escape(d.error) + "</p>\n";
  for (const std::string& note : d.notes) h += "<p class=\"note\">" + html_escape(note) + "</p>\n";
  if (!d.warnings.empty()) {
    h += "<details><summary class=\"note\">" + std::to_string(d.warnings.size()) + " warnings</summary><ul>";
    for (const std::string& w : d.warnings) h += "<li>" + html_escape(w) + "</li>";
    h += "</ul></details>\n";
  }
  if (!d.completeness.empty()) {
    auto get = [&](const char* k) {
      auto it = d.completeness.find(k);
      return it == d.completeness.end() ? std::string() : it->second;
    };
    h += "<p><b>Civil Code Art. 470 checklist (hints)</b>: present: " + html_escape(get("present")) +
         "; absent: " + html_escape(get("absent")) + "; ambiguous: " + html_escape(get("ambiguous")) + "</p>\n";
  }
  if (d.found && d.status == "done" && !d.rows.empty()) {
    h += "<table><tr><th>#</th><th>category</th><th>中文</th><th>CUAD</th><th>confidence</th><th>span</th>"
         "<th>values</th></tr>\n";
    for (size_t i = 0; i < d.rows.size(); ++i) {
      const Row& r = d.rows[i];
      const std::string id = anchor + "-" + std::to_string(i + 1);
      h += "<tr><td class=\"n\"><a href=\"#" + id + "\">" + std::to_string(i + 1) + "</a></td><td>" +
           html_escape(r.category) + (r.kind == "entity" ? " <span class=\"small\">(entity)</span>" : "") +
           "</td><td>" + html_escape(r.label_zh) + "</td><td>" + html_escape(r.cuad) + "</td><td class=\"n\">" +
           fixed(r.confidence, 2) + "</td><td class=\"n\">" + std::to_string(r.start) + "–" + std::to_string(r.end) +
           "</td><td>" + values_cell(r) + "</td></tr>\n";
    }
    h += "</table>\n";
    std::optional<CodePointText> text;
    if (d.decoded_text) text.emplace(*d.decoded_text);
    for (size_t i = 0; i < d.rows.size(); ++i) {
      const Row& r = d.rows[i];
      h += "<details id=\"" + anchor + "-" + std::to_string(i + 1) + "\"><summary>#" + std::to_string(i + 1) + " " +
           html_escape(r.category) + " · " + html_escape(r.label_zh) + " · " + html_escape(r.label) + " · " +
           fixed(r.confidence, 2) + "</summary>\n<div class=\"ctx\">";
      if (text) {
        const size_t before = r.start > kContext ? r.start - kContext : 0;
        if (before > 0) h += "<span class=\"omit\">…</span>";
        h += html_escape(text->slice(before, r.start));
        h += "<mark>" + marked_span(r.text, r) + "</mark>";
        h += html_escape(text->slice(r.end, r.end + kContext));
        if (r.end + kContext < text->size()) h += "<span class=\"omit\">…</span>";
      } else {
        h += "<mark>" + marked_span(r.text, r) + "</mark>";
      }
      h += "</div></details>\n";
    }
  }
  h += "</section>\n";
  body_.write(h);
}

void HtmlReport::commit(const BatchSummary& s) {
  body_.flush();
  OutputFile out(path_);
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>legal-extract report · " +
      html_escape(s.pipeline_name) + "</title>\n<style>" + kStyle +
      "</style>\n</head>\n<body>\n<h1>Contract extraction report · 合同条款抽取报告</h1>\n";
  h += "<p class=\"small\">Generated " + html_escape(now_iso()) + " by legal-extract " + html_escape(s.version) +
       " · pipeline " + html_escape(s.pipeline_name) + " (" + html_escape(s.pipeline_file) + ") · config " +
       html_escape(s.config_hash.substr(0, 19)) + "… · run " + html_escape(s.run_id) + " · database " +
       html_escape(s.db_path) + "</p>\n";

  h += "<h2>Batch summary · 批次概览</h2>\n<table>\n";
  auto row = [&](const std::string& k, const std::string& v) {
    h += "<tr><th>" + k + "</th><td>" + v + "</td></tr>\n";
  };
  row("documents", std::to_string(s.documents));
  row("done", "<span class=\"done\">" + std::to_string(s.done) + "</span>");
  row("failed", std::string(s.failed ? "<span class=\"failed\">" : "<span>") + std::to_string(s.failed) + "</span>");
  if (s.not_reached)
    row("not processed", "<span class=\"missing\">" + std::to_string(s.not_reached) + "</span> (the run was " +
                             (s.interrupted ? "interrupted" : "stopped") + "; run again to finish)");
  row("processed by this run", std::to_string(s.processed_now) + " (" +
                                   std::to_string(s.done + s.failed - s.processed_now) + " reused from earlier runs)");
  row("run time", fixed(s.run_seconds, 2) + " s");
  row("throughput (this run)", fixed(s.text_mb_per_minute(), 3) + " MB/min of text (" +
                                   fixed(static_cast<double>(s.processed_text_bytes) / 1e6, 3) + " MB decoded, " +
                                   fixed(static_cast<double>(s.processed_file_bytes) / 1e6, 3) + " MB of files) · " +
                                   fixed(s.documents_per_minute(), 1) + " documents/min");
  row("rows", std::to_string(s.rows) +
                  (s.rows_filtered_out ? " (" + std::to_string(s.rows_filtered_out) + " more below the filters)" : ""));
  row("min confidence", fixed(s.min_confidence, 2));
  std::string cats;
  for (const std::string& c : s.categories) cats += (cats.empty() ? "" : ", ") + c;
  row("categories", cats.empty() ? "all" : html_escape(cats));
  h += "</table>\n";

  if (!s.failures.empty()) {
    h += "<h3>Failed documents · 处理失败</h3>\n<table><tr><th>document</th><th>stage</th><th>reason</th></tr>\n";
    for (const FailedDocument& f : s.failures)
      h += "<tr><td>" + html_escape(f.path) + "</td><td>" + html_escape(f.stage) + "</td><td class=\"err\">" +
           html_escape(f.error) + "</td></tr>\n";
    h += "</table>\n";
  }
  if (!s.notes.empty()) {
    h += "<h3>Notes · 提示</h3>\n<ul>\n";
    for (const auto& [path, note] : s.notes) h += "<li>" + html_escape(path) + ": " + html_escape(note) + "</li>\n";
    h += "</ul>\n";
  }

  h += "<h3>Rows per category · 各类条款</h3>\n<table><tr><th>category</th><th>中文</th><th>rows</th>"
       "<th>documents</th></tr>\n";
  for (const auto& [id, c] : s.by_category)
    h += "<tr><td>" + html_escape(id) + "</td><td>" + html_escape(c.label_zh) + "</td><td class=\"n\">" +
         std::to_string(c.rows) + "</td><td class=\"n\">" + std::to_string(c.documents) + "</td></tr>\n";
  h += "</table>\n<h3>Documents · 文件</h3>\n<ul class=\"toc\">\n" + contents_ + "</ul>\n";
  out.write(h);
  out.append_file(body_.temp_path());
  out.write("</body>\n</html>\n");
  out.commit();
}

}  // namespace ds::legal_extract
