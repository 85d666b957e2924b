#!/usr/bin/env bash
# Install hubserving into a virtual environment, and optionally modules into $HUB_HOME.
# The Dockerfile runs exactly this; tests/test_ray_deploy.py runs it with --dry-run and checks its steps.
#
#   deploy/install.sh [--venv DIR] [--extras lac,ray] [--modules "senta_bilstm==1.2.0 ..."] [--source URL]
#                     [--dry-run]
#
# --extras   the pyproject extras to install (default: lac,ray)
# --modules  modules to bake in with `hub install` (built-in modules such as lac need none)
# --source   the module index `hub install` reads (default: the configured module source)
# --dry-run  print each step instead of running it
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
venv="/opt/hubserving/venv"
extras="lac,ray"
modules=""
source_url=""
dry_run=0

while [ $# -gt 0 ]; do
  case "$1" in
    --venv) venv="$2"; shift 2 ;;
    --extras) extras="$2"; shift 2 ;;
    --modules) modules="$2"; shift 2 ;;
    --source) source_url="$2"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    *) echo "install.sh: unknown option $1 (see the comment at the top)" >&2; exit 2 ;;
  esac
done

step() {
  # Print the step as a shell line; run it unless --dry-run.
  printf '+'; printf ' %q' "$@"; printf '\n'
  if [ "$dry_run" = 0 ]; then "$@"; fi
}

target="$here"
if [ -n "$extras" ]; then target="$here[$extras]"; fi

step python3 -m venv "$venv"
step "$venv/bin/pip" install --no-cache-dir -q -U "pip>=25.3"
# LAC 2.1.2's setup.py imports pkg_resources, gone from setuptools 81: build it with an older one.
step env PIP_BUILD_CONSTRAINT="$here/build-constraints.txt" "$venv/bin/pip" install --no-cache-dir -q "$target"
if [ -n "$modules" ]; then
  read -r -a names <<< "$modules"
  if [ -n "$source_url" ]; then
    step "$venv/bin/hub" install --yes --source "$source_url" "${names[@]}"
  else
    step "$venv/bin/hub" install --yes "${names[@]}"
  fi
fi
step "$venv/bin/hub" list
