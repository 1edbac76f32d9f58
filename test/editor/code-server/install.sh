#!/usr/bin/env bash
# Installs what the code-server tests need, outside the repo (about 900 MB, 2 minutes):
# Debian's chromium and the native build deps, Node 24 (code-server refuses Node 20) and code-server,
# into ${NFLENS_EDITOR_DIR:-$HOME/.cache/nflens-editor}. Idempotent. npm registry and Debian only.
set -euo pipefail
DIR="${NFLENS_EDITOR_DIR:-$HOME/.cache/nflens-editor}"
CODE_SERVER_VERSION=4.139.1
export DEBIAN_FRONTEND=noninteractive
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
mkdir -p "$DIR/node24" "$DIR/code-server"
if [ ! -x "$DIR/node24/node_modules/node/bin/node" ]; then
  # npm 11 blocks dependency install scripts unless approved; node@24 fetches its binary in one.
  (cd "$DIR/node24" && npm init -y >/dev/null && npm install --no-audit --no-fund node@24 >/dev/null && \
    npm install-scripts approve --all >/dev/null && npm rebuild >/dev/null)
fi
NODE24_BIN="$DIR/node24/node_modules/node/bin"
NODE24_PKG=""
for d in "$DIR"/node24/node_modules/node-linux-* "$DIR"/node24/node_modules/node/node_modules/node-linux-*; do
  [ -d "$d" ] && NODE24_PKG="$d" && break
done
if [ ! -x "$DIR/code-server/node_modules/.bin/code-server" ]; then
  (cd "$DIR/code-server" && npm init -y >/dev/null && \
    PATH="$NODE24_BIN:$PATH" npm_config_nodedir="$NODE24_PKG" npm install --no-audit --no-fund "code-server@$CODE_SERVER_VERSION" >/dev/null && \
    npm install-scripts approve --all >/dev/null && \
    PATH="$NODE24_BIN:$PATH" npm_config_nodedir="$NODE24_PKG" npm rebuild >/dev/null)
fi
echo "code-server: $DIR/code-server/node_modules/.bin/code-server (node $("$NODE24_BIN/node" --version))"
