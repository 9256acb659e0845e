#include "kb_build.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <set>

#include "kb_embedder.h"
#include "kb_entries.h"
#include "kb_medquad.h"
#include "kb_paths.h"
#include "kb_sqlite.h"

namespace ds::medical::kb {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void say(const LogFn& log, const std::string& line) {
  if (log) log(line);
}

std::unique_ptr<Embedder> make_embedder(const EmbedSettings& s, const LogFn& log) {
  if (!s.model) return nullptr;
  const fs::path tok = s.tokenizer.empty() ? default_tokenizer() : s.tokenizer;
  auto e = std::make_unique<Embedder>(*s.model, tok, s.head, s.threads);
  say(log, "[kb] model " + s.model->string() + " (" + e->model().sha256 + "), head '" + s.head + "', dim " +
               std::to_string(e->model().dim));
  return e;
}

// Embeds the passages of `entries`, logging progress about every 2 seconds.
std::vector<std::vector<float>> embed_entries(Embedder& embedder, const std::vector<Entry>& entries, const LogFn& log) {
  std::vector<std::string> texts;
  texts.reserve(entries.size());
  for (const Entry& e : entries) texts.push_back(passage_text(e));
  const auto t0 = Clock::now();
  auto last = t0;
  return embedder.embed(texts, [&](size_t done, size_t total) {
    if (done != total && since(last) < 2.0) return;
    last = Clock::now();
    char buf[128];
    std::snprintf(buf, sizeof buf, "[kb] embedded %zu/%zu passages (%.1f/s)", done, total,
                  double(done) / std::max(since(t0), 1e-9));
    say(log, buf);
  });
}

uint64_t size_of(const fs::path& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

void remove_with_sidecars(const fs::path& p) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(p.string() + suffix, ec);
}

}  // namespace

BuildReport build_kb(const BuildOptions& o) {
  const auto t0 = Clock::now();
  BuildReport rep;
  rep.out = o.out.empty() ? default_kb_build_target() : o.out;
  const fs::path dir = o.entries_dir.empty() ? default_entries_dir() : o.entries_dir;
  const std::vector<Entry> entries = load_entries(dir);
  for (const Entry& e : entries) (e.lang == "zh" ? rep.zh : rep.en)++;
  rep.entries = entries.size();
  say(o.log, "[kb] " + std::to_string(entries.size()) + " entries from " + dir.string() + " (" +
                 std::to_string(rep.zh) + " zh, " + std::to_string(rep.en) + " en)");

  std::vector<std::vector<float>> vectors;
  std::unique_ptr<Embedder> embedder = make_embedder(o.embed, o.log);
  if (embedder) {
    const auto te = Clock::now();
    vectors = embed_entries(*embedder, entries, o.log);
    rep.embed_seconds = since(te);
    rep.model = embedder->model();
  }

  const fs::path tmp = rep.out.string() + ".tmp";
  remove_with_sidecars(tmp);
  try {
    KbWriter w = KbWriter::create(tmp);
    w.begin();
    w.set_meta("built_at", utc_now());
    w.set_meta("built_by", std::string("deepseek ") + DS_VERSION + " kb build");
    w.set_meta("entries_dir", fs::absolute(dir).lexically_normal().string());
    if (rep.model) w.set_embedding_model(*rep.model);
    for (size_t i = 0; i < entries.size(); ++i) {
      w.put(entries[i]);
      if (rep.model) {
        w.put_embedding(entries[i].id, *rep.model, vectors[i]);
        ++rep.embedded;
      }
    }
    w.commit();
    w.optimize();
  } catch (...) {
    remove_with_sidecars(tmp);
    throw;
  }
  std::error_code ec;
  // A journal left by a crashed write to the old file would be replayed into the new one.
  fs::remove(rep.out.string() + "-journal", ec);
  fs::rename(tmp, rep.out, ec);
  if (ec) {
    remove_with_sidecars(tmp);
    throw KbError("[medical.kb] cannot move " + tmp.string() + " to " + rep.out.string() + ": " + ec.message());
  }
  rep.bytes = size_of(rep.out);
  rep.seconds = since(t0);
  return rep;
}

ImportReport import_medquad(const ImportOptions& o) {
  const auto t0 = Clock::now();
  ImportReport rep;
  rep.out = o.out;
  if (o.out.empty()) throw KbError("[medical.kb] import needs an output KB file (--out)");
  std::error_code ec;
  rep.created = !fs::exists(o.out, ec);

  // Check the target before the long part, so a mismatch fails at once.
  std::optional<EmbeddingModel> existing_model;
  if (!rep.created) {
    KbWriter probe = KbWriter::open_existing(o.out);
    existing_model = probe.embedding_model();
    const int64_t n = read_info(*open_kb_read_only(o.out)).entries;
    if (existing_model && !o.embed.model)
      throw KbError("[medical.kb] " + o.out.string() + " has embeddings from " + existing_model->file + " (" +
                    existing_model->sha256 + "): give --model with that file so the imported entries get vectors too");
    if (!existing_model && o.embed.model && n > 0)
      throw KbError("[medical.kb] " + o.out.string() + " has " + std::to_string(n) +
                    " entries without embeddings: import without --model, or build the KB with --model first");
  }
  std::unique_ptr<Embedder> embedder = make_embedder(o.embed, o.log);
  if (embedder && existing_model && embedder->model().sha256 != existing_model->sha256)
    throw KbError("[medical.kb] " + o.out.string() + " has embeddings from " + existing_model->file + " (" +
                  existing_model->sha256 + "), not from " + embedder->model().file + " (" + embedder->model().sha256 +
                  ")");

  const std::vector<fs::path> files = medquad_files(o.dir);
  say(o.log, "[kb] " + std::to_string(files.size()) + " XML files under " + o.dir.string());
  std::vector<Entry> entries;
  std::set<std::string> ids;
  auto last = Clock::now();
  for (const fs::path& f : files) {
    ++rep.files;
    try {
      MedquadFile got = parse_medquad_file(f, fs::relative(f, o.dir).generic_string());
      rep.empty_answers += got.empty_answers;
      for (Entry& e : got.entries) {
        if (!ids.insert(e.id).second) {
          ++rep.duplicates;
          continue;
        }
        entries.push_back(std::move(e));
      }
    } catch (const KbError& e) {
      std::string why = e.what();
      if (why.rfind("[medical.kb] ", 0) == 0) why = why.substr(13);
      rep.bad_files.push_back(why);
      say(o.log, "[kb] skipped " + why);
    }
    if (since(last) >= 2.0) {
      last = Clock::now();
      say(o.log, "[kb] read " + std::to_string(rep.files) + "/" + std::to_string(files.size()) +
                     " files: " + std::to_string(entries.size()) + " pairs, " + std::to_string(rep.empty_answers) +
                     " with empty answers");
    }
  }
  say(o.log, "[kb] read " + std::to_string(rep.files) + " files: " + std::to_string(entries.size()) +
                 " pairs to import, " + std::to_string(rep.empty_answers) + " skipped (empty answer), " +
                 std::to_string(rep.duplicates) + " skipped (duplicate id), " + std::to_string(rep.bad_files.size()) +
                 " bad files");

  std::vector<std::vector<float>> vectors;
  if (embedder) vectors = embed_entries(*embedder, entries, o.log);

  const fs::path target = rep.created ? fs::path(o.out.string() + ".tmp") : o.out;
  if (rep.created) remove_with_sidecars(target);
  try {
    KbWriter w = rep.created ? KbWriter::create(target) : KbWriter::open_existing(target);
    w.begin();
    try {
      if (rep.created) {
        w.set_meta("built_at", utc_now());
        w.set_meta("built_by", std::string("deepseek ") + DS_VERSION + " kb import medquad");
      }
      if (embedder) w.set_embedding_model(embedder->model());
      for (size_t i = 0; i < entries.size(); ++i) {
        w.put(entries[i]);
        if (embedder) {
          w.put_embedding(entries[i].id, embedder->model(), vectors[i]);
          ++rep.embedded;
        }
        if ((i + 1) % 5000 == 0)
          say(o.log, "[kb] wrote " + std::to_string(i + 1) + "/" + std::to_string(entries.size()) + " pairs");
      }
      w.set_meta("medquad_import", fs::absolute(o.dir).lexically_normal().string() + "; " +
                                       std::to_string(entries.size()) + " pairs; " + utc_now());
      w.commit();
    } catch (...) {
      w.rollback();
      throw;
    }
    rep.imported = entries.size();
    w.optimize();
  } catch (...) {
    if (rep.created) remove_with_sidecars(target);
    throw;
  }
  if (rep.created) {
    fs::remove(o.out.string() + "-journal", ec);
    fs::rename(target, o.out, ec);
    if (ec) {
      remove_with_sidecars(target);
      throw KbError("[medical.kb] cannot move " + target.string() + " to " + o.out.string() + ": " + ec.message());
    }
  }
  rep.bytes = size_of(o.out);
  rep.seconds = since(t0);
  return rep;
}

}  // namespace ds::medical::kb
