#!/usr/bin/env bash
# README's first command: from a fresh clone to the running demo.
#
#   ./scripts/setup.sh                 # set everything up, then run the demo
#   ./scripts/setup.sh --no-demo       # set everything up, stop there
#   ./scripts/setup.sh --for-tests     # also what the tests need (desktop and kit images, chromium…); no demo
#   ./scripts/setup.sh --packages "openssh-server …"   # extra Debian packages (CI's list)
#
# Run it as yourself: it uses sudo for the system steps (Debian packages, the Docker engine, the
# docker group) and does the rest (Node, npm ci, the keychain, the images) as you. Every step checks
# first and is skipped when its work is done; one that cannot be done says why and what to do.
# Debian and Ubuntu get everything installed; elsewhere (macOS, Windows) it says what to install
# and checks the rest. scripts/test.sh (the second command) and .ci/run run it too.
set -Eeuo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/setup/lib.sh
. "$REPO/scripts/setup/lib.sh"
# shellcheck source=scripts/setup/node.sh
. "$REPO/scripts/setup/node.sh"
# shellcheck source=scripts/setup/docker.sh
. "$REPO/scripts/setup/docker.sh"

SETUP_SCRIPT="$REPO/scripts/setup.sh" SETUP_ARGS=("$@")
RUN_DEMO=1 FOR_TESTS=0 EXTRA_PACKAGES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-demo) RUN_DEMO=0 ;;
    --for-tests) FOR_TESTS=1 RUN_DEMO=0 ;;
    --packages) shift; read -r -a more <<<"${1:-}"; EXTRA_PACKAGES+=("${more[@]}") ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown option $1" "see ./scripts/setup.sh --help" ;;
  esac
  shift
done
cd "$REPO"

if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
  fail "run it as yourself, not with sudo: node_modules and the keychain would be root's" "./scripts/setup.sh (it asks for sudo when a step needs it)"
fi

step "this machine"
PLATFORM=$(detect_platform)
log "$PLATFORM, $(uname -m), running as $(id -un)$([ "$(id -u)" -eq 0 ] && echo ' (root)')"
case "$PLATFORM" in
  debian) ;;
  macos|windows) log "Airlock installs nothing system-wide here: install Docker Desktop (https://docs.docker.com/desktop/) and Node.js 24 (https://nodejs.org/), then run this again; it checks the rest" ;;
  *) log "not Debian/Ubuntu: Airlock installs no system packages here; it checks what it needs and says what is missing" ;;
esac

if [ "$PLATFORM" = debian ]; then
  step "Debian packages"
  packages=(ca-certificates curl dbus dbus-daemon gnome-keyring mmdebstrap)
  [ "$FOR_TESTS" = 1 ] && packages+=(chromium)
  packages+=("${EXTRA_PACKAGES[@]}")
  # Any Docker engine will do (docker-ce, docker.io, a remote DOCKER_HOST): docker.io only when none is there.
  if ! command -v dockerd >/dev/null 2>&1 && ! engine_answers; then packages+=(docker.io); fi
  apt_install "${packages[@]}"
fi

step "Node.js >= $NODE_MINIMUM"
ensure_node

step "Docker engine"
ensure_engine

step "npm ci"
ensure_npm_ci

if [ "$FOR_TESTS" = 0 ]; then
  step "keychain"
  ensure_keychain
fi

step "agent image airlock/agent-base:1"
build_image "--if-missing"
if [ "$FOR_TESTS" = 1 ]; then
  step "desktop image airlock/agent-desktop:1"
  build_image "--desktop --if-missing"
  step "kit images"
  # FROM the local agent-base; the tools' npm packages come from the npm registry through this npm.
  for kit_file in assets/agents/*/kit.yaml; do
    kit=$(basename "$(dirname "$kit_file")")
    progress "kit $kit"
    node bin/airlock.cjs image build --kit "$kit" --if-missing
  done
fi

step "check: airlock doctor"
if [ "$FOR_TESTS" = 1 ]; then
  # The tests start a keychain session of their own: here only the engine and the images count.
  # doctor exits 1 for the keychain this session lacks: its report is read whatever its exit code.
  report=$(node bin/airlock.cjs doctor --json || true)
  if printf '%s' "$report" | node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")); process.exit(r.engine.ok && r.images.every((i) => (i.present && !i.outdated) || i.optional) ? 0 : 1)'; then
    log "engine and images ready (the tests start their own keychain session)"
  else
    node bin/airlock.cjs doctor || true
    fail "airlock doctor found a problem with the engine or the images" "fix the items it marks, then run this again"
  fi
else
  # Its verdict is what `airlock run` will do.
  node bin/airlock.cjs doctor || fail "airlock doctor found a problem" "fix the items it marks, then run ./scripts/setup.sh again"
fi

print_path_hint
if [ "$RUN_DEMO" = 1 ]; then
  step "the demo: npm run demo"
  npm run demo
  log "next: ./scripts/test.sh runs the tests"
fi
