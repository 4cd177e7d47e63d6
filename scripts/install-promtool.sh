#!/usr/bin/env bash
# Install promtool (Debian's prometheus package) so generated alert rules are checked by the real
# validator. Idempotent and quiet.
set -euo pipefail
if ! command -v promtool >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    prometheus >/dev/null 2>&1
fi
promtool --version >/dev/null
