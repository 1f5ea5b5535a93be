#!/usr/bin/env bash
# Installs Debian's Chromium for the browser test (test/e2e/status-page.test.ts) when it is not
# there yet. Needs root and Debian's apt; the test runs it and fails with its output if it cannot.
# playwright-core (a devDependency) drives this browser: it never downloads one of its own.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  echo "chromium already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "cannot install chromium: not root (run: sudo apt-get install -y chromium)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "cannot install chromium: no apt-get here (install Chromium so that $CHROMIUM exists)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends chromium
"$CHROMIUM" --version
