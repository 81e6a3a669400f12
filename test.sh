#!/usr/bin/env bash
# Install what the tests need and run them: ./test.sh [pytest arguments...]
# Exits with pytest's status. Browser tests need Debian's Chromium at /usr/bin/chromium:
# it is installed when missing and we may (root or passwordless sudo); otherwise the
# browser tests are skipped and the reason is printed.
set -uo pipefail
cd "$(dirname "$0")"

./run.sh --install-only || exit 1

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="none"; fi
  if [ "$SUDO" != "none" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's chromium for the browser tests ..."
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium; } \
      > /tmp/medlens-chromium-install.log 2>&1 \
      || echo "Installing chromium failed (see /tmp/medlens-chromium-install.log)."
  fi
fi
if [ ! -x /usr/bin/chromium ]; then
  export MEDLENS_SKIP_E2E="Debian's chromium is not at /usr/bin/chromium and could not be installed (needs root or sudo and apt-get)"
  echo "Browser tests will be skipped: $MEDLENS_SKIP_E2E"
fi

.venv/bin/python -m pytest "$@"
