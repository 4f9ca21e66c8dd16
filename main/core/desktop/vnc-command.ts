// The command line and environment the live view's helpers run with (ScreenSession.open, as
// SCREEN_UID: a user the agent cannot signal or trace).

/**
 * The live view's helpers, started with a command line and an environment of Airlock's own so they
 * read nothing the agent can write (its HOME is the writable /tmp): `env -i` drops every variable of
 * the container; HOME is a folder that does not exist on the read-only root; PATH names only the
 * image's read-only folders; x11vnc gets -norc (it would read ~/.x11vncrc: `clip`, `blackout` or
 * `rawfb` there would hide or fake the screen) and -noshm: it reads the screen over the X socket,
 * so no shared-memory segment is shared with the X server (the agent's process; it could not attach
 * SCREEN_UID's private segments anyway). dash, non-interactive, reads no startup file; socat
 * reads none. The screen is the image's :99 (as `airlock-desktop vnc`, which trusted HOME).
 * x11vnc can hang in its own exit path: it runs under a tiny shell that SIGKILLs it when socat,
 * seeing stdin end, sends SIGTERM (socat turns the \' of its SYSTEM address into quotes).
 */
const VNC_SCRIPT = String.raw`command -v x11vnc >/dev/null && command -v socat >/dev/null || { echo 'airlock-desktop: x11vnc or socat not found in the image' >&2; exit 127; }
tries=600
while [ ! -S /tmp/.X11-unix/X99 ]; do
  tries=$((tries - 1))
  [ "$tries" -gt 0 ] || { echo 'airlock-desktop: no screen to show' >&2; exit 70; }
  sleep 0.05
done
exec socat STDIO "SYSTEM:exec 3<&0; x11vnc -norc -noshm -inetd -nopw -quiet -shared -noxdamage -nocursorshape -nosel -noclipboard -nonap <&3 >&3 3<&- & trap \'kill -KILL \$!\' TERM; wait"`;
export const VNC_COMMAND = ['/usr/bin/env', '-i', 'PATH=/usr/local/bin:/usr/bin:/bin', 'HOME=/nonexistent', 'DISPLAY=:99', 'LANG=C.UTF-8', '/bin/sh', '-c', VNC_SCRIPT];
/**
 * `env` itself starts with the container's environment (the manifest's `env` among it): the
 * variables that would make the loader or libc load or read a file are blanked for it, so an
 * agent cannot plant one in /tmp for them. (An exec cannot unset a variable; only those an empty
 * value switches off are listed: LD_SHOW_AUXV and LD_DYNAMIC_WEAK act on being set at all.)
 */
const LOADER_VARIABLES = ['GCONV_PATH', 'GETCONF_DIR', 'GLIBC_TUNABLES', 'HOSTALIASES', 'LD_AUDIT', 'LD_DEBUG', 'LD_DEBUG_OUTPUT', 'LD_LIBRARY_PATH',
  'LD_ORIGIN_PATH', 'LD_PRELOAD', 'LD_PROFILE', 'LOCALDOMAIN', 'LOCPATH', 'MALLOC_TRACE', 'NIS_PATH', 'NLSPATH', 'RESOLV_HOST_CONF', 'RES_OPTIONS', 'TMPDIR', 'TZDIR'];

/** The exec's environment on top of the container's (an exec cannot unset one): the loader's, blanked. */
export const VNC_ENV = LOADER_VARIABLES.map((name) => `${name}=`);
