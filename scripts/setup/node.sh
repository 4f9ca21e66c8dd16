# shellcheck shell=bash
# Node.js for Airlock (sourced): the node on PATH when it is recent enough, else the official Node 24
# binary from the npm registry (the package node-linux-<arch>, with npm beside it), checked against
# the integrity pinned here, in AIRLOCK_NODE_DIR. Only curl is needed: no npm, no nodejs.org (often
# unreachable where the npm registry is), no third-party apt repository; Debian's own nodejs is too old.

NODE_MINIMUM=22.12
NODE_VERSION=24.22.3
NPM_VERSION=11.19.1
NPM_INTEGRITY=sha512-ztsxKxt/kkIaAs+2i0GU6I+DRmUdrNasxTZKJe9TCdSjKxlhah/4r/hl5ygMD6XAg1qZ9c2TNomR4qgOydp10g==
NODE_DIR=${AIRLOCK_NODE_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/airlock/node24}
NPM_REGISTRY=${AIRLOCK_NPM_REGISTRY:-https://registry.npmjs.org}
NODE_INSTALLED=0

# True when the node on PATH is at least NODE_MINIMUM.
node_is_recent() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)' 2>/dev/null
}

# The sha512 of node-linux-<arch>@NODE_VERSION as the npm registry publishes it (npm view … dist.integrity).
node_integrity() {
  case "$1" in
    x64) echo sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA== ;;
    arm64) echo sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw== ;;
  esac
}

node_arch() {
  case "$(uname -m)" in
    x86_64|amd64) echo x64 ;;
    aarch64|arm64) echo arm64 ;;
    *) return 1 ;;
  esac
}

# Downloads an npm package's tarball, checks it against its pinned sha512 integrity, unpacks it into dest.
fetch_package() {
  local name=$1 version=$2 integrity=$3 dest=$4 tmp expected actual
  command -v curl >/dev/null 2>&1 || fail "curl is needed to fetch $name" "install curl (apt-get install curl)"
  tmp=$(mktemp -d)
  progress "downloading $name@$version from $NPM_REGISTRY"
  if ! curl -fsSL -o "$tmp/package.tgz" "$NPM_REGISTRY/$name/-/$name-$version.tgz"; then
    rm -rf "$tmp"; fail "could not download $name@$version from $NPM_REGISTRY" "check this machine reaches the npm registry (proxy: https_proxy), or install Node 24 yourself"
  fi
  expected=$(printf '%s' "${integrity#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
  actual=$(sha512sum "$tmp/package.tgz" | cut -d' ' -f1)
  if [ "$expected" != "$actual" ]; then
    rm -rf "$tmp"; fail "$name@$version from $NPM_REGISTRY is not the published package (sha512 differs)" "check the registry or proxy you use"
  fi
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tmp/package.tgz" -C "$tmp/unpacked" --strip-components=1
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest"
  mv "$tmp/unpacked" "$dest"
  rm -rf "$tmp"
}

# Puts a recent node and npm on PATH, installing them into NODE_DIR when needed (NODE_DIR/bin then
# holds node, npm and npx: one directory for the user's PATH).
ensure_node() {
  local arch bin="$NODE_DIR/bin"
  if ! node_is_recent; then
    case "$PLATFORM" in
      macos|windows) fail "node on PATH is $(node --version 2>/dev/null || echo missing); Airlock needs >= $NODE_MINIMUM" "install Node.js 24 from https://nodejs.org/, then run this again" ;;
    esac
    arch=$(node_arch) || fail "no Node $NODE_VERSION build for $(uname -m) on the npm registry" "install Node.js >= $NODE_MINIMUM yourself"
    log "node on PATH is $(node --version 2>/dev/null || echo missing): using Node $NODE_VERSION in $NODE_DIR"
    local package="$NODE_DIR/node_modules/node-linux-$arch"
    if ! "$package/bin/node" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 24 ? 0 : 1)' 2>/dev/null; then
      fetch_package "node-linux-$arch" "$NODE_VERSION" "$(node_integrity "$arch")" "$package"
    else
      log "already there: $package"
    fi
    mkdir -p "$bin"
    ln -sf "../node_modules/node-linux-$arch/bin/node" "$bin/node"
    export PATH="$bin:$PATH"
    node_is_recent || fail "node at $bin is $(node --version), still older than $NODE_MINIMUM" "remove $NODE_DIR and run this again"
    NODE_INSTALLED=1
  fi
  # Debian's npm (made for its own old node) is not used with the Node installed here: npm of our own.
  if [ "$NODE_INSTALLED" = 1 ] || ! npm --version >/dev/null 2>&1; then
    if [ ! -f "$NODE_DIR/node_modules/npm/bin/npm-cli.js" ]; then
      fetch_package npm "$NPM_VERSION" "$NPM_INTEGRITY" "$NODE_DIR/node_modules/npm"
    fi
    mkdir -p "$bin"
    ln -sf ../node_modules/npm/bin/npm-cli.js "$bin/npm"
    ln -sf ../node_modules/npm/bin/npx-cli.js "$bin/npx"
    case ":$PATH:" in *":$bin:"*) ;; *) export PATH="$bin:$PATH" ;; esac
    NODE_INSTALLED=1
  fi
  log "using node $(node --version) at $(command -v node), npm $(npm --version)"
}

# After setup: how to have this node in the user's own shell (we never edit their shell's files).
print_path_hint() {
  [ "$NODE_INSTALLED" = 1 ] || return 0
  log "Node $NODE_VERSION is in $NODE_DIR; to use npm and npx airlock in your shell:"
  log "    export PATH=\"$NODE_DIR/bin:\$PATH\"   (add it to ~/.profile to keep it)"
}
