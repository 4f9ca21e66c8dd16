# shellcheck shell=bash
# The Docker engine (sourced): one that answers is used as it is (local, Docker Desktop, Podman's
# socket, a remote DOCKER_HOST or context); else on Linux this machine's dockerd is started (systemd
# when it runs the machine, else dockerd in the background) and waited for, and a user who may not
# use its socket is added to the docker group.

DOCKERD_LOG=${AIRLOCK_DOCKERD_LOG:-/var/log/airlock-dockerd.log}
DOCKERD_WAIT_SECONDS=60

engine_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
engine_version() { docker version --format '{{.Server.Version}}' 2>/dev/null; }

# The socket of this machine's engine, when that is the one the docker CLI would use.
local_socket() {
  local host=${DOCKER_HOST:-unix:///var/run/docker.sock}
  case "$host" in unix://*) echo "${host#unix://}" ;; *) return 1 ;; esac
}

start_dockerd() {
  if [ -d /run/systemd/system ]; then
    progress "systemctl start docker"
    as_root systemctl enable --now docker.service
    return
  fi
  # No systemd (a container, WSL without systemd): dockerd in the background, its log in a file.
  progress "starting dockerd in the background (log: $DOCKERD_LOG)"
  # shellcheck disable=SC2016 # $1 is the inner shell's
  as_root sh -c 'mkdir -p "$(dirname "$1")"; nohup dockerd >"$1" 2>&1 </dev/null & echo $! >"$1.pid"' sh "$DOCKERD_LOG"
}

# Waits until the engine answers (a progress line every 5 s); says why when it does not.
wait_for_engine() {
  local waited=0
  until as_root docker version --format '{{.Server.Version}}' >/dev/null 2>&1; do
    if [ "$waited" -ge "$DOCKERD_WAIT_SECONDS" ]; then
      log "the engine did not answer within ${DOCKERD_WAIT_SECONDS}s; last lines of $DOCKERD_LOG:" >&2
      as_root tail -n 30 "$DOCKERD_LOG" >&2 || true
      fail "dockerd did not start" "see its log above (systemd: journalctl -u docker)"
    fi
    [ $((waited % 5)) -eq 0 ] && [ "$waited" -gt 0 ] && progress "waiting for the engine (${waited}s)"
    sleep 1
    waited=$((waited + 1))
  done
}

ensure_engine() {
  if engine_answers; then
    log "engine $(engine_version) answers (${DOCKER_HOST:-${DOCKER_CONTEXT:-the default endpoint}})"
    return
  fi
  command -v docker >/dev/null 2>&1 || {
    case "$PLATFORM" in
      debian) fail "no docker CLI even after installing docker.io" "apt-get install docker.io" ;;
      macos|windows) fail "no Docker engine" "install Docker Desktop (https://docs.docker.com/desktop/), start it, then run this again" ;;
      *) fail "no Docker engine" "install Docker Engine (https://docs.docker.com/engine/install/), start it, then run this again" ;;
    esac
  }
  local socket
  if ! socket=$(local_socket); then
    fail "the engine at DOCKER_HOST=$DOCKER_HOST does not answer" "start that engine, or unset DOCKER_HOST to use this machine's"
  fi
  case "$PLATFORM" in
    macos|windows) fail "Docker Desktop is not running" "start Docker Desktop, wait until it says it is running, then run this again" ;;
  esac
  if ! as_root docker version >/dev/null 2>&1; then
    start_dockerd
    wait_for_engine
    log "engine $(as_root docker version --format '{{.Server.Version}}') is up"
  fi
  engine_answers && return
  # It runs, but not for us: the socket belongs to root and the docker group.
  if [ "$(id -u)" -ne 0 ] && [ -S "$socket" ] && [ ! -w "$socket" ]; then
    if id -nG | tr ' ' '\n' | grep -qx docker; then
      fail "$(id -un) is in the docker group but still cannot use $socket" "check its owner and mode: ls -l $socket (root:docker, 660)"
    fi
    if ! id -nG "$(id -un)" | tr ' ' '\n' | grep -qx docker; then
      progress "adding $(id -un) to the docker group (membership in docker is root-equivalent on this machine)"
      as_root usermod -aG docker "$(id -un)"
    fi
    # This shell's groups are those of the login: carry on as a new login of the same user, whose
    # groups now include docker. (Not `sg docker`: it makes docker the primary group of everything
    # the rest makes, and newuidmap refuses such a process.) The environment is kept, PATH too.
    [ -n "${AIRLOCK_SETUP_IN_DOCKER_GROUP:-}" ] && fail "still no access to $socket" "log out and in again, then run this again"
    log "continuing with the docker group (your other shells get it at your next login, or now with: newgrp docker)"
    export AIRLOCK_SETUP_IN_DOCKER_GROUP=1
    exec sudo -E -u "$(id -un)" env PATH="$PATH" "$SETUP_SCRIPT" "${SETUP_ARGS[@]}"
  fi
  fail "the engine at $socket does not answer" "docker version says why"
}
