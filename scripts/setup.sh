#!/usr/bin/env bash
# Idempotent set-up: system packages (graphviz, chromium), a .venv with the
# project and its extras. Re-running does nothing when everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v dot >/dev/null 2>&1 || need_apt+=(graphviz)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing system packages: ${need_apt[*]}" >&2
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null; }; then
    echo "setup: could not install ${need_apt[*]} (SVG export / browser test will be skipped)" >&2
  fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.bnfold-setup
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages into .venv (first run takes a few minutes)" >&2
  # torch/torchvision pinned to the builds that go together (torchvision is
  # optional for users, but the test-suite covers FrozenBatchNorm2d and timm).
  log=.venv/setup.log
  if ! { .venv/bin/pip install --disable-pip-version-check "torch==2.14.1" "torchvision==0.29.1" &&
         .venv/bin/pip install --disable-pip-version-check -e ".[zoo,bench,models,dev]"; } > "$log" 2>&1; then
    grep -v "is ignored" "$log" | tail -40 >&2
    echo "setup: pip install failed (full log: $log)" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
