#!/usr/bin/env bash
# Rebuild the viewer bundle from source (needs Node 20+ and npm; ./run.sh does not: the built
# bundle in frontend/dist/ is committed), then record the source and bundle hashes beside it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/frontend"
npm ci --no-audit --no-fund
npm run build
python3 "$here/source_hash.py" > dist/SOURCE_SHA256
cat dist/SOURCE_SHA256
