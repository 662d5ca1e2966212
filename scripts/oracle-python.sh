#!/usr/bin/env bash
# Prints the path of a Python with the oracle's packages (torch, transformers,
# peft, safetensors, numpy: DESIGN.md §4; gguf for the GGUF export checks),
# creating it on first use as a virtual environment in a cache folder outside
# any clone, so that repeated runs on one machine reuse it: $LORAFUSE_CACHE_DIR, else
# ${XDG_CACHE_HOME:-~/.cache}/lorafuse, then /oracle-venv.
#
# The packages come from pip's configured local index (global.extra-index-url)
# and wheel store, never from PyPI, which is not reachable on the development
# and CI machines. Exits 3, with the reason on stderr, when no index is
# configured. An environment made before a package joined the list gets the
# missing package added in place (the others stay as they are).
set -euo pipefail
cache="${LORAFUSE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lorafuse}"
venv="$cache/oracle-venv"
probe="import importlib.util as u, sys; sys.exit(0 if all(u.find_spec(m) for m in ('torch', 'transformers', 'peft', 'safetensors', 'numpy', 'huggingface_hub', 'gguf')) else 1)"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$probe" 2>/dev/null; then
  echo "$venv/bin/python"
  exit 0
fi
# shellcheck disable=SC2046 # two index URLs, split on purpose
set -- $(pip config get global.extra-index-url 2>/dev/null || true)
if [ "$#" -eq 0 ]; then
  echo "oracle-python: pip has no global.extra-index-url (no local package index), so no oracle Python can be made here" >&2
  exit 3
fi
mkdir -p "$cache"
if [ -x "$venv/bin/python" ]; then
  echo "oracle-python: adding the missing packages to $venv from the configured package index" >&2
else
  echo "oracle-python: creating $venv from the configured package index" >&2
  python3 -m venv --clear "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check --index-url "$1" ${2:+--extra-index-url "$2"} \
  ${PIP_FIND_LINKS:+--find-links "$PIP_FIND_LINKS"} \
  "torch==2.13.0+cpu" "transformers==5.18.0" "peft==0.21.0" safetensors numpy "gguf==0.19.0" >&2
"$venv/bin/python" -c "$probe"
echo "$venv/bin/python"
