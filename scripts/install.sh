#!/usr/bin/env bash
# Installs whatever is missing, and only that: Debian packages, Python packages, npm packages and
# the livekit-server build. Re-runs take seconds (stamps in .cache/stamps keyed on the file hashes).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# Go may be installed without being on PATH (e.g. /usr/local/go): livekit-server is built with it.
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
STAMPS=.cache/stamps
mkdir -p "$STAMPS"

APT_PACKAGES="flite sox chromium chromium-driver postgresql redis-server"
missing=""
for pkg in $APT_PACKAGES; do dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"; done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "== apt-get install$missing"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
fi

req=$(sha256sum requirements.txt | cut -c1-16)
if [ ! -f "$STAMPS/pip-$req" ]; then
  echo "== pip install -r requirements.txt"
  $PY -m pip install -q --disable-pip-version-check -r requirements.txt
  touch "$STAMPS/pip-$req"
fi

pkg=$(sha256sum package.json | cut -c1-16)
if [ ! -f "$STAMPS/npm-$pkg" ] || [ ! -d node_modules/livekit-client ] || [ ! -d node_modules/swagger-ui-dist ]; then
  echo "== npm install (livekit-client and swagger-ui-dist, served locally by the dashboard)"
  npm install --no-audit --no-fund --loglevel=error
  touch "$STAMPS/npm-$pkg"
fi

# The local LiveKit server: reuse LIVEKIT_SERVER_BIN / PATH / our cached build, else build it once.
if $PY -c "from onboarding.settings import get_settings as g; import sys; sys.exit(0 if g().uses_local_server else 1)"; then
  $PY -m onboarding livekit-server >/dev/null
fi
