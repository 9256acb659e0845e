// The medical model the tests run (heads triage, department, embed): one place to change it.
#pragma once

#include <cstdlib>
#include <filesystem>

#include "test_util.h"

namespace ds::test {

// The shipped data/models/medical-small.safetensors, or $DS_MEDICAL_TEST_MODEL when set (to check
// a retrained model before it ships, e.g. runs/medical-small/medical-small.safetensors).
inline std::filesystem::path medical_model() {
  if (const char* env = std::getenv("DS_MEDICAL_TEST_MODEL"); env && *env) return env;
  return source_dir() / "data/models/medical-small.safetensors";
}

}  // namespace ds::test
