#include "config/pipeline_config.h"

namespace ds {

const std::vector<OptionSpec>& input_option_specs() {
  static const std::vector<OptionSpec> specs = {
      opt_strings("paths", {},
                  "files or folders to read; relative entries resolve against the YAML's folder; "
                  "INPUT arguments on the command line replace them"),
      opt_strings("include", {"*"}, "glob patterns a file name must match (any of them)"),
      opt_strings("exclude", {}, "glob patterns that skip a file name (any of them)"),
      opt_bool("recursive", true, "descend into sub-folders"),
      opt_bool("follow_symlinks", false, "follow symbolic links to files and folders"),
      opt_int("max_file_bytes", int64_t{64} << 20, "larger files fail with an error instead of being read", 1),
      opt_string("encoding", "auto", "character encoding of every file (e.g. UTF-8, GB18030), or auto to detect"),
  };
  return specs;
}

const std::vector<OptionSpec>& run_option_specs() {
  static const std::vector<OptionSpec> specs = {
      opt_int("threads", 0, "worker threads; 0 = one per core", 0, 256),
      opt_int("batch_size", 8, "documents handed to each stage at once", 1, 4096),
      opt_enum("progress", "auto", {"auto", "bar", "log", "none"},
               "progress display: a bar on a terminal, log lines otherwise (auto), or none"),
  };
  return specs;
}

}  // namespace ds
