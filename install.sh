#!/usr/bin/env bash
# Installs everything the zoo needs on a fresh Debian machine: the offline datasets
# (apt) and a virtual environment .venv with requirements.txt (pip).
# Usage: ./install.sh            (as root, or with sudo available)
set -euo pipefail
cd "$(dirname "$0")"

# packages.txt: what the app needs at run time (Hugging Face Spaces installs the same file);
# chromium is for the real-browser tests only.
mapfile -t RUNTIME_PACKAGES < <(grep -v '^\s*#' packages.txt | grep -v '^\s*$')
APT_PACKAGES=("${RUNTIME_PACKAGES[@]}" chromium chromium-driver)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}"
else
  echo "apt-get not found: install Fashion-MNIST IDX files yourself and set ZOO_FASHION_MNIST" >&2
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
echo "installed: run '.venv/bin/python hub_app.py' to serve the hub, '.venv/bin/python -m pytest -q' to test"
