#!/usr/bin/env bash
# Install what the docs rendering test needs, idempotently and quietly:
#   - headless Chromium from Debian (/usr/bin/chromium), no browser download from elsewhere;
#   - mermaid.min.js from the `mermaid` npm package into a cache directory (never committed), so the
#     built site renders its diagrams without reaching the mermaid CDN.
# The cache directory is $JOBFORGE_MERMAID_CACHE, default ~/.cache/jobforge/mermaid.
set -euo pipefail
MERMAID_VERSION="${JOBFORGE_MERMAID_VERSION:-11}"
CACHE="${JOBFORGE_MERMAID_CACHE:-$HOME/.cache/jobforge/mermaid}"

if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core >/dev/null 2>&1
fi

if [ ! -s "$CACHE/mermaid.min.js" ]; then
  mkdir -p "$CACHE"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "mermaid@${MERMAID_VERSION}" >/dev/null)
  tar -xzf "$tmp"/mermaid-*.tgz -C "$tmp" package/dist/mermaid.min.js
  mv "$tmp/package/dist/mermaid.min.js" "$CACHE/mermaid.min.js"
fi
exit 0
