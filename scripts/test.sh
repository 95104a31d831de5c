#!/usr/bin/env bash
# The README's test command: installs what the suite needs on a fresh Debian 12 machine (as root),
# installs simsync with its test extras, and runs the whole suite. Services the tests need
# (pcscd with the vpcd virtual reader, ...) are started by the test fixtures themselves.
#
#   bash scripts/test.sh [pytest args...]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$HERE"

APT_PKGS=(
  pcscd libpcsclite1 libpcsclite-dev vsmartcard-vpcd   # PC/SC daemon, client library, virtual reader
  pcsc-tools opensc                                     # scriptor, opensc-tool: third-party PC/SC clients
  swig gcc python3-dev                                  # to build pyscard from source (no Linux wheel)
  libwbxml2-utils                                       # wbxml2xml / xml2wbxml: the WBXML reference
  postgresql                                            # DB2 on PostgreSQL (the tests start their own cluster)
  syncevolution syncevolution-http syncevolution-dbus   # the third-party SyncML client and server (interop)
  python3-twisted python3-dbus python3-gi python3-openssl dbus libc6-dev   # ... what its server and shim need
  iproute2 procps                                       # ss, ps used by fixtures
)

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $EUID -ne 0 ]]; then
    echo "scripts/test.sh: missing Debian packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  echo "[test.sh] apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 900 apt-get -o DPkg::Lock::Timeout=300 update -qq
  timeout 1200 apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" \
    >/tmp/simsync-apt.log 2>&1 || { tail -40 /tmp/simsync-apt.log >&2; exit 1; }
fi

PYTHON="${PYTHON:-python3}"
echo "[test.sh] pip install -e .[test] with $("$PYTHON" --version)"
"$PYTHON" -m pip install -q --disable-pip-version-check -e ".[test]" 2>&1 | grep -v -e "^WARNING: Location" -e "Running pip as the 'root'" || true
"$PYTHON" -c "import simsync, smartcard, hypothesis" 

echo "[test.sh] pytest"
exec "$PYTHON" -m pytest -p no:cacheprovider "$@"
