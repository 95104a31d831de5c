#!/usr/bin/env bash
# Start pcscd with the vpcd virtual reader by hand (no systemd needed), for manual runs of
# `simsync card serve` and PC/SC tools. Stops pcscd (by PID) on exit, Ctrl-C or SIGTERM.
#
#   scripts/pcsc_env.sh [--port 35963] [--debug] [--max-seconds S] [-- CMD ARGS...]
#
# Readers: "Virtual PCD 00 00" (vpcd on 127.0.0.1:PORT) and "Virtual PCD 00 01" (PORT+1).
# Example:
#   scripts/pcsc_env.sh &                      # leave pcscd running
#   simsync card serve my.card &               # insert the card into "Virtual PCD 00 00"
#   opensc-tool -l; opensc-tool -r 0 -s 00A4000C023F00
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
exec "$PYTHON" -m simsync.reader.pcscd --run-dir "$HERE/.run/pcscd" "$@"
