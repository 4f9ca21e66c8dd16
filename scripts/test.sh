#!/usr/bin/env bash
# README's second command: the tests (lint, typecheck, vitest), after scripts/setup.sh --for-tests
# (what the tests need beyond the demo: the desktop and kit images, chromium). .ci/run is this.
#
#   ./scripts/test.sh                                  # everything
#   ./scripts/test.sh --packages "openssh-server …"    # extra Debian packages for setup
#
# The tests run in a D-Bus session of their own with a fresh, unlocked gnome-keyring, so they never
# touch your keychain, and a watchdog keeps that keyring unlocked.
set -Eeuo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/setup/lib.sh
. "$REPO/scripts/setup/lib.sh"
# shellcheck source=scripts/setup/node.sh
. "$REPO/scripts/setup/node.sh"
cd "$REPO"

# setup says itself what failed and how to fix it; no second line about a step of this script.
"$REPO/scripts/setup.sh" --for-tests "$@" || exit $?
PLATFORM=$(detect_platform)
ensure_node >/dev/null

step "tests (lint, typecheck, vitest) in a D-Bus session with an unlocked keyring"
if ! command -v dbus-run-session >/dev/null 2>&1 || ! command -v gnome-keyring-daemon >/dev/null 2>&1; then
  fail "the tests need dbus-run-session and gnome-keyring-daemon" "apt-get install dbus dbus-daemon gnome-keyring"
fi
# A keyring of its own for every run: an existing login keyring with another password would make
# gnome-keyring prompt (and fail) instead of unlocking.
KEYRING_HOME=$(mktemp -d /tmp/airlock-test-keyring.XXXXXX)
trap 'rm -rf "$KEYRING_HOME"' EXIT
# gnome-keyring-daemon itself can crash (a glib assertion, seen once in a long run on a loaded machine);
# D-Bus then starts a locked one that cannot prompt here, and every later keychain test fails for a
# reason that is not Airlock's. A watchdog checks every second that the login keyring is unlocked and
# puts an unlocked daemon back if it is not, saying so in the log. It retries no test.
# shellcheck disable=SC2016 # the script is for the session's shell
env -u DBUS_SESSION_BUS_ADDRESS XDG_DATA_HOME="$KEYRING_HOME" dbus-run-session -- sh -c '
  unlock() { echo -n airlock-ci | gnome-keyring-daemon --replace --unlock --components=secrets >/dev/null; }
  locked() {
    ! dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets/collection/login \
      org.freedesktop.DBus.Properties.Get string:org.freedesktop.Secret.Collection string:Locked 2>/dev/null | grep -q "boolean false"
  }
  unlock || exit 1
  (while sleep 1; do
    if locked; then echo "[ci] the keyring daemon was lost or locked: starting an unlocked one" >&2; unlock; fi
  done) &
  watchdog=$!
  npm test; status=$?
  kill "$watchdog" 2>/dev/null
  exit "$status"'

step "done"
log "tests passed"
