#!/usr/bin/env bash
# Install MedLens into .venv (once; again only when requirements.txt changes) and serve it.
#   ./run.sh                 install if needed, then serve on 127.0.0.1:$PORT (default 8501): this computer only
#   MEDLENS_ADDRESS=0.0.0.0 ./run.sh   serve on every network interface (others on the network can connect)
#   ./run.sh --install-only  install if needed, then exit (test.sh uses this)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
VENV=".venv"
STAMP="$VENV/.requirements.sha256"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "MedLens needs Python 3.10 or newer, but '$PYTHON' was not found (set PYTHON=/path/to/python3)." >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  echo "MedLens needs Python 3.10 or newer; '$PYTHON' is $("$PYTHON" --version 2>&1)." >&2
  exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating $VENV ..."
  "$PYTHON" -m venv "$VENV" || { echo "Could not create the virtual environment $VENV (is python3-venv installed?)." >&2; exit 1; }
fi

wanted="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$wanted" ]; then
  echo "Installing requirements into $VENV (a few minutes the first time) ..."
  if ! { "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip \
         && "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt; } > "$VENV/install.log" 2>&1; then
    echo "Installing the requirements failed; the last lines of $VENV/install.log:" >&2
    grep -v '^WARNING: Location' "$VENV/install.log" | tail -n 15 >&2
    exit 1
  fi
  echo "$wanted" > "$STAMP"
else
  echo "Requirements already installed in $VENV."
fi

if [ "${1:-}" = "--install-only" ]; then
  exit 0
fi

PORT="${PORT:-8501}"
ADDRESS="${MEDLENS_ADDRESS:-127.0.0.1}"
case "$ADDRESS" in
  127.*|localhost|::1)
    echo "MedLens is starting: open http://localhost:$PORT in your browser (Ctrl+C stops it)."
    echo "It listens on $ADDRESS only: other computers cannot connect. To serve on the network (with sign-in): MEDLENS_AUTH=accounts MEDLENS_ADDRESS=0.0.0.0 ./run.sh"
    ;;
  *)
    echo "MedLens is starting on $ADDRESS:$PORT (Ctrl+C stops it)."
    echo "WARNING: listening on a network address ($ADDRESS): this needs multi-user mode (MEDLENS_AUTH=accounts or oidc;" >&2
    echo "WARNING: the server refuses to start without it). First admin: .venv/bin/python -m core users add admin --role admin --password-stdin" >&2
    ;;
esac
# core.ui.serve is `streamlit run app.py` with a fix for deep links on a fresh server (see its docstring).
exec "$VENV/bin/python" -m core.ui.serve --server.port "$PORT" --server.address "$ADDRESS" --server.headless true
