// The built-in text stages: "decode" (bytes -> text), "normalize" (text -> normalized) and
// "segment" (normalized -> segments).
#pragma once

namespace ds {

class Registry;

// Adds the three stages with their declared options, reads and adds. Throws std::invalid_argument
// if a name is already registered. Called once from register_builtins.
void register_text_stages(Registry& registry);

}  // namespace ds
