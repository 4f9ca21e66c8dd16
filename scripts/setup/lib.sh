# shellcheck shell=bash
# Shared by scripts/setup.sh and scripts/test.sh (sourced, not run): progress lines, failing with
# the fix, root steps through sudo, Debian packages, npm ci, the keychain, the images.

STEP="starting"
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
step() { STEP="$*"; log "==> $*"; }
progress() { log "    … $*"; }

# One line saying what is wrong, one saying what fixes it; exit 1.
fail() {
  printf '[%s] !!! %s\n' "$(date -u +%H:%M:%S)" "$1" >&2
  [ -n "${2:-}" ] && printf '           fix: %s\n' "$2" >&2
  exit 1
}
on_error() {
  printf '\n[%s] !!! failed during step "%s" (line %s, exit code %s)\n' "$(date -u +%H:%M:%S)" "$STEP" "$2" "$1" >&2
  exit "$1"
}
trap 'on_error $? $LINENO' ERR

# Node uses its own CA list; machines behind a TLS-inspecting proxy trust it only via the system
# bundle (npm ci, and the Node and npm the image builds fetch).
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi

# debian (apt-get: Debian, Ubuntu and their kin), macos, windows (Git Bash, MSYS, Cygwin) or other.
detect_platform() {
  case "$(uname -s)" in
    Darwin) echo macos ;;
    MINGW*|MSYS*|CYGWIN*) echo windows ;;
    Linux) if command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then echo debian; else echo other; fi ;;
    *) echo other ;;
  esac
}

# Runs a command as root: directly when we are root, else through sudo (which asks for the password).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else fail "this step needs root: $*" "run it as root, or install sudo and allow $(id -un) to use it"
  fi
}

# Installs the Debian packages that are not installed yet (none: says so and does nothing).
apt_install() {
  local missing=() pkg
  # Each name once, in the order given.
  # shellcheck disable=SC2046 # package names are single words
  set -- $(printf '%s\n' "$@" | awk '!seen[$0]++')
  for pkg in "$@"; do
    # Any Docker engine will do (docker-ce, docker.io): docker.io only when dockerd is absent.
    if [ "$pkg" = docker.io ] && command -v dockerd >/dev/null 2>&1; then continue; fi
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then log "all present: $*"; return; fi
  log "installing: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# npm ci, skipped when node_modules was installed from this very package-lock.json by this Node
# major (then only the CLI bundle is rebuilt, from the current sources).
ensure_npm_ci() {
  local stamp=node_modules/.airlock-setup wanted
  wanted="$(sha256sum package-lock.json | cut -d' ' -f1) node$(node -p 'process.versions.node.split(".")[0]')"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && [ -f bin/airlock.cjs ]; then
    log "node_modules matches package-lock.json: rebuilding the CLI bundle only"
    npm run --silent build:cli
    return
  fi
  progress "npm ci (installs the dependencies and builds the CLI; never downloads Electron)"
  ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-audit --no-fund
  printf '%s\n' "$wanted" >"$stamp"
}

# A keychain that works without a desktop: the OS's on macOS and Windows, the desktop session's
# Secret Service when there is a session bus, else Airlock's own private one (`airlock keychain
# start`: asks for a passphrase once per boot, like ssh-agent).
ensure_keychain() {
  case "$PLATFORM" in
    macos) log "the macOS Keychain is used"; return ;;
    windows) log "Windows Credential Manager is used"; return ;;
  esac
  if [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
    log "a session bus is there ($DBUS_SESSION_BUS_ADDRESS): its Secret Service is used"
    return
  fi
  if ! node bin/airlock.cjs --help | grep -qE '^  keychain( |$)'; then
    fail "no session bus, and this Airlock has no \`airlock keychain\` command to start a private keychain" "log in to a desktop session, or update Airlock"
  fi
  log "no session bus (a server, an ssh session, a container): starting Airlock's private keychain"
  node bin/airlock.cjs keychain start
}

# Builds an agent image when it is missing (args: airlock image build's options). On Debian from
# this machine's own packages (mmdebstrap), so no registry is needed; elsewhere from the registry.
# mmdebstrap needs root: not root, the build runs through sudo, in an engine of its own (in-process,
# a throwaway AIRLOCK_HOME); the image lands in the same Docker engine. (As a user, mmdebstrap's
# user-namespace mode fails at the image's setup step.)
build_image() {
  local offline=() home
  [ "$PLATFORM" = debian ] && offline=(--offline)
  if [ "$PLATFORM" = debian ] && [ "$(id -u)" -ne 0 ]; then
    home=$(mktemp -d)
    # shellcheck disable=SC2086 # the options are words
    as_root env PATH="$PATH" NODE_EXTRA_CA_CERTS="${NODE_EXTRA_CA_CERTS:-}" ${DOCKER_HOST:+DOCKER_HOST="$DOCKER_HOST"} \
      AIRLOCK_ENGINE=inprocess AIRLOCK_HOME="$home/airlock" node bin/airlock.cjs image build $1 "${offline[@]}" || { as_root rm -rf "$home"; return 1; }
    as_root rm -rf "$home"
    return
  fi
  # shellcheck disable=SC2086 # the options are words
  node bin/airlock.cjs image build $1 "${offline[@]}"
}
