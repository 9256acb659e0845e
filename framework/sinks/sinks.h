// Registration of the framework's result sinks: "sqlite" (the embedded default), "jsonl", "csv".
#pragma once

namespace ds {

class Registry;

// Adds the three sinks with their declared options. Called once by register_builtins().
void register_sinks(Registry& registry);

}  // namespace ds
