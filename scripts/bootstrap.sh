#!/usr/bin/env bash
# Makes sure uv is available, then installs the project and its locked dependencies
# into .venv. Works on a fresh Debian/Ubuntu machine with only Python 3.11 and git.
set -euo pipefail
cd "$(dirname "$0")/.."

find_uv() {
  if command -v uv >/dev/null 2>&1; then command -v uv; return; fi
  if [ -x .tools/bin/uv ]; then echo .tools/bin/uv; return; fi
  return 1
}

if ! UV=$(find_uv); then
  echo "uv not found: installing it into .tools/ from PyPI" >&2
  if python3 -m venv .tools >/dev/null 2>&1; then
    .tools/bin/python -m pip install --quiet uv
  else
    # Debian without python3-venv: a private target folder still works with pip.
    rm -rf .tools
    python3 -m pip install --quiet --target .tools/lib uv \
      || python3 -m pip install --quiet --break-system-packages --target .tools/lib uv
    mkdir -p .tools/bin
    ln -sf ../lib/bin/uv .tools/bin/uv
  fi
  UV=.tools/bin/uv
fi

"$UV" sync --locked --all-extras --python 3.11
echo "$UV"
