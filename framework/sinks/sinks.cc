#include "sinks/sinks.h"

#include "core/registry.h"
#include "sinks/csv_sink.h"
#include "sinks/jsonl_sink.h"
#include "sinks/sqlite_sink.h"

namespace ds {

void register_sinks(Registry& registry) {
  registry.add_sink({"sqlite",
                     "SQLite database (WAL, one transaction per document): runs, documents, annotations, segments; "
                     "see framework/sinks/SCHEMA.md",
                     SqliteSink::option_specs()},
                    [](const Options& o) { return std::make_unique<SqliteSink>(o); });
  registry.add_sink({"jsonl", "one JSON object per document per line, appended", JsonlSink::option_specs()},
                    [](const Options& o) { return std::make_unique<JsonlSink>(o); });
  registry.add_sink({"csv", "one row per annotation, RFC 4180, UTF-8 with BOM for spreadsheets",
                     CsvSink::option_specs()},
                    [](const Options& o) { return std::make_unique<CsvSink>(o); });
}

}  // namespace ds
