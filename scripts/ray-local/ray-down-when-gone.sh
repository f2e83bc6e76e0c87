#!/usr/bin/env bash
# ray-down-when-gone.sh PID - wait until process PID has exited, then stop the head named by
# RAY_UP_ROOT / RAY_UP_TMP with ray-down.sh (and, with RAY_WATCHDOG_REMOVE_TMP=1, remove
# RAY_UP_TMP, Ray's temp dir).
#
# Lakeray's own addition to the ray-local tool: the watchdog of a head that belongs to one
# process (a test run). The owner normally stops its head itself; this covers the owner
# being killed (SIGKILL, a CI timeout), when no cleanup code of the owner can run. Start it
# in a session of its own (setsid), so whatever kills the owner's process group spares it.
# The owner is recognised by PID and start time, so a recycled PID does not keep it waiting.
set -uo pipefail

PID="${1:?usage: ray-down-when-gone.sh PID}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POLL_S="${RAY_WATCHDOG_POLL_S:-1}"

# started_at PID: sets `born` to field 22 of /proc/PID/stat (start time in clock ticks);
# comm (field 2) may hold spaces. Builtins only: this runs every second.
started_at() {
  local s f
  { read -r s < "/proc/$1/stat"; } 2>/dev/null || { born=""; return 1; }
  f=( ${s##*) } )
  born=${f[19]}
}

started_at "$PID"
owner=$born
while [ -n "$owner" ]; do
  started_at "$PID"
  [ "$born" = "$owner" ] || break
  sleep "$POLL_S"
done
"$HERE/ray-down.sh"
if [ "${RAY_WATCHDOG_REMOVE_TMP:-0}" = 1 ] && [ -n "${RAY_UP_TMP:-}" ]; then
  rm -rf "$RAY_UP_TMP"
fi
