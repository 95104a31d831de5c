#!/bin/bash
# scripts/interop/setup.sh -- install what the SyncEvolution interop tests need (Debian 12),
# only the packages that are missing; then check that every component is usable.
# Needs root for apt-get. Idempotent.
set -euo pipefail
cd "$(dirname "$0")"

PKGS=$(/usr/bin/env python3 -c 'import sepeer; print(" ".join(sepeer.APT_PACKAGES))' 2>/dev/null) \
    || PKGS="syncevolution syncevolution-http syncevolution-dbus python3-twisted python3-dbus python3-gi python3-openssl dbus gcc libc6-dev"

missing=()
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if ((${#missing[@]})); then
    [[ $(id -u) -eq 0 ]] || { echo "setup.sh: missing ${missing[*]}; run as root" >&2; exit 1; }
    echo "setup.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -qq
    timeout 1800 apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# syncevolution-http 2.0.0-3 imports twisted without depending on it, and its script has an
# unsubstituted '#!@PYTHON@' line: sepeer.py runs it with /usr/bin/python3, which needs these
/usr/bin/python3 -c 'import dbus, gi, twisted.web' || { echo "setup.sh: python modules missing" >&2; exit 1; }
[[ -x /usr/libexec/syncevo-dbus-server ]] || { echo "setup.sh: syncevo-dbus-server missing" >&2; exit 1; }
syncevolution --version | grep -q '^SyncEvolution' || { echo "setup.sh: syncevolution does not run" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
gcc -O2 -Wall -shared -fPIC -o "$tmp/se_curlfix.so" se_curlfix.c -ldl
echo "setup.sh: ok ($(syncevolution --version | head -n 1))"
