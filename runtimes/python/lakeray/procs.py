"""Process hygiene for the harness: a task's processes must not outlive it.

The harness runs as the leader of its own process group (the platform spawns it detached),
and every process a script starts joins that group. The harness also makes itself a child
subreaper (Linux), so orphaned grandchildren are re-parented to it rather than to PID 1, which
in containers often never reaps: a killed child would otherwise linger as a zombie forever.
On exit the harness kills what is left of its group and reaps it, then leaves with os._exit
(no interpreter teardown, no waiting on threads the script left running).
"""
import os
import signal
import sys
import time

_LINUX = sys.platform.startswith("linux")
_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    if not _LINUX:
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except Exception:  # noqa: BLE001 - best effort: without it, orphans go to init as before
        pass


def private_fd(fd):
    """Move an inherited fd to a close-on-exec copy so the script's subprocesses do not hold it open."""
    try:
        new_fd = os.dup(fd)  # os.dup returns a non-inheritable descriptor
        os.close(fd)
        return new_fd
    except OSError:
        return fd


def _stat_fields(pid):
    with open("/proc/%d/stat" % pid, "rb") as f:
        data = f.read()
    # comm (field 2) may contain spaces and parentheses: split after the last ')'
    return data[data.rindex(b")") + 2 :].split()


def group_members(pgid):
    """Live (non-zombie) processes of a process group, from /proc."""
    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = _stat_fields(int(name))
        except (OSError, ValueError):
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            members.append(int(name))
    return members


def _reap(killed, deadline):
    """Reap every child that has exited (zombies too: a child that died of the group's SIGTERM
    before the sweep is already one) and wait, until the deadline, for the ones just killed."""
    remaining = set(killed)
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid > 0:
            remaining.discard(pid)
            continue
        remaining = {p for p in remaining if os.path.exists("/proc/%d" % p)}
        if not remaining or time.monotonic() >= deadline:
            return
        time.sleep(0.005)


def _is_group_leader():
    try:
        return os.getpgid(0) == os.getpid()
    except OSError:
        return False


def shutdown(code):
    """Flush the script's streams, kill and reap the rest of our group, and exit without teardown."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    # Only a group leader may sweep its group: a harness started by hand in a shell shares the
    # shell's group, and killing that would take the user's terminal with it.
    if _LINUX and _is_group_leader():
        me = os.getpid()
        killed = []
        for pid in group_members(me):
            if pid == me:
                continue
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except OSError:
                pass
        _reap(killed, time.monotonic() + 1.0)
    os._exit(code)
