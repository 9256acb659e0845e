// The batch engine: reads inputs, runs the stages over documents in parallel, writes finished
// documents to the sinks in input order, and skips documents the sinks already hold.
//
// Threading: `threads` workers each own one instance of every stage (so stages need no locks);
// sinks and progress are only touched by the calling thread. Output is identical for any number of
// threads, because documents are written in input order.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "cli/progress.h"
#include "config/pipeline_config.h"
#include "io/reader.h"
#include "sinks/sink.h"

namespace ds {

struct Failure {
  std::string path;
  std::string stage;
  std::string error;
};

struct RunResult {
  RunSummary summary;
  std::vector<Failure> failures;               // every failed document, in input order
  std::vector<std::pair<std::string, double>> stage_ms;  // total time per stage instance
  bool interrupted = false;                    // stopped early by the stop flag
};

class Engine {
 public:
  // Creates every stage instance (one per worker). Throws std::runtime_error naming the stage if a
  // stage cannot start (for example a model file that does not load).
  Engine(const PipelineConfig& config, const Registry& registry, int threads, int batch_size);
  ~Engine();

  int threads() const { return threads_; }

  // Runs the inputs through the pipeline into `sinks` (begin_run/end_run are called here).
  // `stop`, when set by a signal handler, ends the run after the documents in flight are written.
  // Throws std::runtime_error if a sink cannot write (what was committed stays committed).
  RunResult run(const std::vector<InputEntry>& inputs, const std::vector<Sink*>& sinks, const RunInfo& info,
                Progress& progress, const std::atomic<bool>* stop = nullptr);

 private:
  void process_batch(std::vector<Document*>& batch, int worker, std::vector<double>& stage_ms);

  const PipelineConfig& config_;
  int threads_;
  int batch_size_;
  int64_t max_file_bytes_;
  // instances_[worker][stage]
  std::vector<std::vector<std::unique_ptr<Stage>>> instances_;
};

}  // namespace ds
