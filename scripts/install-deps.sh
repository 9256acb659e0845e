#!/usr/bin/env bash
# Installs every Debian 12 package the project needs to build, test and run. Idempotent: packages
# already present are left alone, and apt is only called when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libyaml-cpp-dev libsentencepiece-dev sentencepiece
  libicu-dev libsqlite3-dev sqlite3 libssl-dev
  libboost-dev libboost-filesystem-dev
  libgtest-dev googletest
  nlohmann-json3-dev libopenblas-dev libopenblas0-openmp
  libpoppler-cpp-dev poppler-data libzip-dev libxml2-dev zlib1g-dev
  libxgboost-dev libedit-dev
  python3-torch python3-numpy python3-yaml
)
# python3-torch is Debian's CPU PyTorch: the reference model and trainer run on it with /usr/bin/python3
# (parity tests call it). libopenblas0-openmp is the BLAS variant it runs fastest with.
# The .pdf reader uses libpoppler-cpp-dev; poppler-data holds the CJK CMaps that Chinese PDFs with
# non-embedded fonts need to map glyphs to text. The .docx reader uses libzip-dev and libxml2-dev.
# libxgboost-dev (XGBoost 1.7 C API) trains the adaptive-path router (`deepseek router train`).
# libedit-dev (BSD editline) gives the medqa prompt line editing and history; chosen over GNU readline for its licence.

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
