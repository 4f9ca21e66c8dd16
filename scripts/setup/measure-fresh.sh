#!/usr/bin/env bash
# Times README's first command on a fresh Debian bookworm machine: a privileged container made from
# an mmdebstrap minbase root filesystem (plus git and ca-certificates, to clone), with nothing else:
# no Node, no Docker, no keychain. Inside it, as root: git clone of this repository at REF, then
# `./scripts/setup.sh` (Debian packages, Node 24, dockerd started in the container, npm ci, the
# images, the demo), timed. Its apt mirror and npm registry are this machine's.
#
#   scripts/setup/measure-fresh.sh [REF] [-- setup.sh options]
#
# The keychain step reads its passphrase from standard input: AIRLOCK_MEASURE_PASSPHRASE (a
# throwaway default). AIRLOCK_MEASURE_USER=dev runs it as a user `dev` with passwordless sudo (as cloud images have)
# instead of root. After the first command it runs `./scripts/setup.sh --no-demo` again: every step
# then finds its work done.
#
# Needs mmdebstrap and a Docker engine that may run privileged containers (Docker in Docker is only
# for this measurement). Leaves the root filesystem image for the next run; removes the container
# and its engine's data.
set -Eeuo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
REF=HEAD
if [ $# -gt 0 ] && [ "$1" != -- ]; then REF=$1; shift; fi
[ "${1:-}" = -- ] && shift
WORK=${AIRLOCK_MEASURE_DIR:-/var/tmp/airlock-measure-fresh}
IMAGE=airlock-measure/fresh-debian:bookworm-sudo
AS_USER=${AIRLOCK_MEASURE_USER:-root}
NAME=airlock-measure-fresh-$$
COMMIT=$(git -C "$REPO" rev-parse "$REF")

mkdir -p "$WORK"
cleanup() {
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  rm -rf "$WORK/docker-$$" "$WORK/src-$$.git"
}
trap cleanup EXIT

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "making the fresh root filesystem (mmdebstrap bookworm minbase + git, ca-certificates, sudo)"
  mmdebstrap --quiet --variant=minbase --include=git,ca-certificates,sudo bookworm - | docker import - "$IMAGE" >/dev/null
fi
git clone -q --bare --no-local "$REPO" "$WORK/src-$$.git"
git -C "$WORK/src-$$.git" fetch -q "$REPO" "$COMMIT"
mkdir -p "$WORK/docker-$$"

# --privileged asks for every capability; where this machine itself lacks one (CAP_SYS_RESOURCE in
# some VMs and containers, and then runc refuses), all the others, no seccomp/AppArmor/masked paths,
# every device, and /sys and the cgroup mounts made writable inside, which is what --privileged gives.
PRIVILEGE=(--privileged) REMOUNT=:
if [ $(( 0x$(awk '/^CapBnd/ {print $2}' /proc/self/status) >> 24 & 1 )) -eq 0 ]; then
  PRIVILEGE=(--cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined --security-opt apparmor=unconfined
    --security-opt systempaths=unconfined --device-cgroup-rule 'a *:* rwm')
  # shellcheck disable=SC2016 # run by the container's shell
  REMOUNT='mount -o remount,rw /sys && for m in $(awk '"'"'$3 == "cgroup" {print $2}'"'"' /proc/mounts); do mount -o remount,bind,rw "$m"; done'
fi

echo "fresh Debian, commit $COMMIT: git clone && ./scripts/setup.sh $*"
# The inner engine keeps its data on a plain directory (overlay2 cannot sit on the container's overlay).
docker run --rm "${PRIVILEGE[@]}" --name "$NAME" -e TERM=dumb -e REMOUNT="$REMOUNT" -e AS_USER="$AS_USER" -e PASSPHRASE="${AIRLOCK_MEASURE_PASSPHRASE:-measure-fresh-passphrase}" \
  -v "$WORK/src-$$.git:/src.git:ro" -v "$WORK/docker-$$:/var/lib/docker" -v /usr/local/share/ca-certificates:/host-ca:ro \
  "$IMAGE" bash -c '
    set -e
    eval "$REMOUNT"
    # The CAs this machine adds (a TLS-inspecting proxy): every machine behind it has them.
    cp /host-ca/*.crt /usr/local/share/ca-certificates/ 2>/dev/null && update-ca-certificates >/dev/null || true
    if [ "$AS_USER" != root ]; then
      useradd -m -s /bin/bash "$AS_USER" && echo "$AS_USER ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/"$AS_USER"
    fi
    # The repository to clone, owned by the user who clones it (git refuses another owner'"'"'s).
    cp -r /src.git /tmp/src.git && chown -R "$AS_USER" /tmp/src.git
    cd /tmp
    su "$AS_USER" -c "
      set -e
      start=\$(date +%s)
      git clone -q /tmp/src.git ~/airlock
      cd ~/airlock
      git checkout -q $1
      # The keychain step (no session bus here) reads its passphrase from standard input; a person types it.
      printf \"%s\\n\" \"\$PASSPHRASE\" | ./scripts/setup.sh ${*:2}
      echo \"FIRST COMMAND: \$(( \$(date +%s) - start ))s from git clone to the demo'"'"'s end\"
      again=\$(date +%s)
      ./scripts/setup.sh --no-demo
      echo \"SECOND RUN: \$(( \$(date +%s) - again ))s for ./scripts/setup.sh --no-demo again\"
    "' \
  bash "$COMMIT" "$@"
