#!/usr/bin/env bash
# Quick start, step 2: install what is missing, build and run the whole test suite.
# PRESET=asan bash scripts/test.sh runs it under AddressSanitizer + UBSan instead of release.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${PRESET:-release}"

bash scripts/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" --parallel "$(nproc)"
ctest --preset "$preset" --parallel "$(nproc)"
