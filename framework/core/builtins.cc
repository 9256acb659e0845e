#include "core/registry.h"

namespace ds {

// Declared here rather than included so this file does not depend on each area's headers.
void register_text_stages(Registry& registry);
void register_tokenizer_stage(Registry& registry);
void register_model_stage(Registry& registry);
void register_sinks(Registry& registry);

void register_builtins(Registry& registry) {
  register_text_stages(registry);
  register_tokenizer_stage(registry);
  register_model_stage(registry);
  register_sinks(registry);
}

}  // namespace ds
