#!/usr/bin/env bash
# Install Debian's Chromium for the browser test, if it is missing and we can (root + apt).
# Never fails the build: without Chromium the browser test skips with a clear message.
set -u
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "browser: Chromium not installed and cannot apt-get here; the browser test will be skipped."
  exit 0
fi
echo "browser: installing Debian's chromium (once)..."
if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); then
  echo "browser: apt-get install chromium failed; the browser test will be skipped."
fi
exit 0
