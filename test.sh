#!/usr/bin/env bash
# Install what the tests need and run them: ./test.sh [pytest arguments...]
# Exits with pytest's status. Browser tests need Debian's Chromium at /usr/bin/chromium,
# the DICOM validation tests need dciodvfy (Debian's dicom3tools) and the PACS tests a local
# Orthanc with its DICOMweb plugin (Debian's orthanc, orthanc-dicomweb; the tests start their own
# throwaway server, never the system service): each is installed when
# missing and we may (root or passwordless sudo); otherwise those tests are skipped and the
# reason is printed (under CI=true a missing dciodvfy fails its tests instead). The same for Debian's
# postgresql (database tests on PostgreSQL).
set -uo pipefail
cd "$(dirname "$0")"

./run.sh --install-only || exit 1

if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="none"; fi
APT_UPDATED=""
apt_install() {  # apt_install PACKAGE LOG: install a Debian package when we may
  if [ "$SUDO" != "none" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's $1 for the tests ..."
    { if [ -z "$APT_UPDATED" ]; then $SUDO apt-get update -qq; fi \
        && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$1"; } > "$2" 2>&1 \
      || echo "Installing $1 failed (see $2)."
    APT_UPDATED=1
  fi
}

if [ ! -x /usr/bin/chromium ]; then
  apt_install chromium /tmp/medlens-chromium-install.log
fi
if ! command -v dciodvfy >/dev/null 2>&1; then
  apt_install dicom3tools /tmp/medlens-dicom3tools-install.log
fi
if ! command -v dciodvfy >/dev/null 2>&1; then
  export MEDLENS_SKIP_DCIODVFY="dciodvfy (Debian's dicom3tools) is not installed and could not be (needs root or sudo and apt-get)"
  echo "DICOM validation tests will be skipped: $MEDLENS_SKIP_DCIODVFY"
fi
if [ ! -x /usr/sbin/Orthanc ]; then
  apt_install orthanc /tmp/medlens-orthanc-install.log
fi
if ! ls /usr/share/orthanc/plugins/libOrthancDicomWeb.so /usr/lib/orthanc/libOrthancDicomWeb.so* >/dev/null 2>&1; then
  apt_install orthanc-dicomweb /tmp/medlens-orthanc-dicomweb-install.log
fi
if [ ! -x /usr/sbin/Orthanc ] || ! ls /usr/share/orthanc/plugins/libOrthancDicomWeb.so /usr/lib/orthanc/libOrthancDicomWeb.so* >/dev/null 2>&1; then
  echo "PACS tests will be skipped: Debian's orthanc and orthanc-dicomweb are not installed and could not be (needs root or sudo and apt-get)"
fi
if [ ! -x /usr/bin/chromium ]; then
  export MEDLENS_SKIP_E2E="Debian's chromium is not at /usr/bin/chromium and could not be installed (needs root or sudo and apt-get)"
  echo "Browser tests will be skipped: $MEDLENS_SKIP_E2E"
fi

# The database tests run on SQLite and on a throwaway PostgreSQL cluster (tests/postgres.py) made
# with Debian's postgresql package; without it those tests skip with the reason (CI=true: they fail).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_install postgresql /tmp/medlens-postgresql-install.log
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "PostgreSQL tests will be skipped: Debian's postgresql is not installed and could not be (needs root or sudo and apt-get)"
fi

.venv/bin/python -m pytest "$@"
