#include "core/engine.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>

namespace ds {

namespace {

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Runs task(i, worker) for i in [0, n) on up to `threads` threads; returns when all are done.
template <typename Fn>
void parallel_for(size_t n, int threads, Fn&& task) {
  if (n == 0) return;
  int workers = static_cast<int>(std::min<size_t>(n, static_cast<size_t>(std::max(threads, 1))));
  if (workers == 1) {
    for (size_t i = 0; i < n; ++i) task(i, 0);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  pool.reserve(workers);
  for (int w = 0; w < workers; ++w) {
    pool.emplace_back([&, w] {
      for (size_t i = next++; i < n; i = next++) task(i, w);
    });
  }
  for (auto& t : pool) t.join();
}

}  // namespace

Engine::Engine(const PipelineConfig& config, const Registry& registry, int threads, int batch_size)
    : config_(config), threads_(threads), batch_size_(std::max(batch_size, 1)) {
  if (threads_ <= 0) threads_ = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  max_file_bytes_ = config.input.get_int("max_file_bytes");
  instances_.resize(threads_);
  for (int w = 0; w < threads_; ++w) {
    for (const StageConfig& sc : config.stages) {
      const StageFactory* factory = registry.stage_factory(sc.stage);
      if (!factory) throw std::runtime_error("[" + sc.instance_name + "] stage is not registered");
      StageContext ctx{sc.instance_name, config.base_dir, w};
      try {
        instances_[w].push_back((*factory)(sc.options, ctx));
      } catch (const std::exception& e) {
        std::string msg = e.what();
        std::string prefix = "[" + sc.instance_name + "]";
        throw std::runtime_error(msg.rfind(prefix, 0) == 0 ? msg : prefix + " cannot start: " + msg);
      }
    }
  }
}

Engine::~Engine() = default;

void Engine::process_batch(std::vector<Document*>& batch, int worker, std::vector<double>& stage_ms) {
  std::vector<Document*> live;
  for (size_t s = 0; s < config_.stages.size(); ++s) {
    const std::string& name = config_.stages[s].instance_name;
    live.clear();
    for (Document* d : batch)
      if (!d->failed()) live.push_back(d);
    if (live.empty()) break;
    auto t0 = std::chrono::steady_clock::now();
    try {
      instances_[worker][s]->process_batch(live, name);
    } catch (const std::exception& e) {
      for (Document* d : live)
        if (!d->failed()) d->fail(name, e.what());
    } catch (...) {
      for (Document* d : live)
        if (!d->failed()) d->fail(name, "unknown exception");
    }
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    stage_ms[s] += ms;
    for (Document* d : live) d->timings_ms[name] = ms / static_cast<double>(live.size());
  }
  for (Document* d : batch) {
    if (!d->failed()) d->status = DocStatus::kDone;
    // Raw bytes are only needed until decoding; never keep them for the sinks.
    std::string().swap(d->bytes);
  }
}

RunResult Engine::run(const std::vector<InputEntry>& inputs, const std::vector<Sink*>& sinks, const RunInfo& info,
                      Progress& progress, const std::atomic<bool>* stop) {
  RunResult result;
  RunSummary& sum = result.summary;
  sum.total = static_cast<int64_t>(inputs.size());
  for (Sink* s : sinks) s->begin_run(info);
  progress.start(sum.total);

  std::vector<std::vector<double>> worker_ms(threads_, std::vector<double>(config_.stages.size(), 0.0));
  std::set<std::string> seen_paths;
  auto started = std::chrono::steady_clock::now();
  int64_t finished = 0;

  // Chunks bound memory and let progress and the stop flag act between them.
  const size_t chunk = static_cast<size_t>(threads_) * static_cast<size_t>(batch_size_) * 2;
  for (size_t first = 0; first < inputs.size(); first += chunk) {
    if (stop && stop->load()) {
      result.interrupted = true;
      break;
    }
    size_t count = std::min(chunk, inputs.size() - first);

    std::vector<Document> docs(count);
    parallel_for(count, threads_, [&](size_t i, int) { docs[i] = read_document(inputs[first + i], max_file_bytes_); });

    // Decide, on this thread, which documents need work: not already in every sink, not a repeat.
    std::vector<DocKey> keys(count);
    std::vector<std::vector<Sink*>> targets(count);
    std::vector<Document*> todo;
    for (size_t i = 0; i < count; ++i) {
      keys[i] = {docs[i].source.path, docs[i].source.content_hash, info.config_hash};
      bool repeat = !seen_paths.insert(docs[i].source.path).second;
      if (!repeat)
        for (Sink* s : sinks)
          if (!s->has(keys[i])) targets[i].push_back(s);
      if (repeat || (targets[i].empty() && !sinks.empty())) {
        ++sum.skipped;
        docs[i] = Document{};
        continue;
      }
      if (!docs[i].failed()) todo.push_back(&docs[i]);
    }

    std::vector<std::vector<Document*>> batches;
    for (size_t i = 0; i < todo.size(); i += static_cast<size_t>(batch_size_))
      batches.emplace_back(todo.begin() + i, todo.begin() + std::min(todo.size(), i + batch_size_));
    parallel_for(batches.size(), threads_, [&](size_t b, int w) { process_batch(batches[b], w, worker_ms[w]); });

    for (size_t i = 0; i < count; ++i) {
      Document& d = docs[i];
      if (d.status == DocStatus::kPending && !d.failed()) {
        ++finished;  // skipped above
        progress.update(finished, sum.failed, sum.skipped);
        continue;
      }
      for (Sink* s : targets[i]) s->write(keys[i], d);
      if (d.failed()) {
        ++sum.failed;
        result.failures.push_back({d.source.path, d.failed_stage, d.error});
      } else {
        ++sum.done;
      }
      ++finished;
      progress.update(finished, sum.failed, sum.skipped);
      d = Document{};
    }
  }

  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  sum.finished_unix_ms = now_unix_ms();
  progress.finish();
  for (Sink* s : sinks) s->end_run(sum);
  for (size_t s = 0; s < config_.stages.size(); ++s) {
    double total = 0;
    for (const auto& w : worker_ms) total += w[s];
    result.stage_ms.emplace_back(config_.stages[s].instance_name, total);
  }
  return result;
}

}  // namespace ds
