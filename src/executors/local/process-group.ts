/**
 * Signals to process groups and checks on them. Every harness runs detached, as the leader of
 * its own process group (pgid = pid), and whatever a script starts joins that group, so one
 * signal reaches the task's whole tree. "Gone" means no live member is left: zombies count as
 * gone, because in a container whose PID 1 does not reap, a killed orphan stays a zombie
 * forever while holding no memory, GPU or file.
 */
import fs from 'node:fs';

export const signalGroup = (pgid: number, signal: NodeJS.Signals): boolean => {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: nothing left in the group
  }
};

interface ProcStat {
  state: string;
  ppid: number;
  pgrp: number;
}

const statOf = (pid: number): ProcStat | null => {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', ppid: Number(fields[1]), pgrp: Number(fields[2]) };
  } catch {
    return null;
  }
};

const hasProc = (): boolean => fs.existsSync('/proc/self/stat');

/** Live (non-zombie) members of a process group. Without /proc, asks the kernel with signal 0. */
export const groupMembers = (pgid: number): number[] => {
  // Common case first, one system call: nothing at all left in the group (not even a zombie).
  // Only otherwise scan /proc, which costs a file read per process on the machine.
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return [];
  }
  if (!hasProc()) {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const members: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const stat = statOf(pid);
    if (stat !== null && stat.pgrp === pgid && stat.state !== 'Z') members.push(pid);
  }
  return members;
};

export const groupAlive = (pgid: number): boolean => groupMembers(pgid).length > 0;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * SIGKILL whatever is left of a group and wait (bounded) until nothing live remains.
 * Returns false if something survived the deadline (e.g. a process stuck in the D state).
 */
export const sweepGroup = async (pgid: number, timeoutMs = 2000): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const members = groupMembers(pgid);
    if (members.length === 0) return true;
    if (Date.now() >= deadline) return false;
    for (const pid of members) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    await sleep(10);
  }
};

/** True while `pid` exists and is not a zombie. */
export const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
  return statOf(pid)?.state !== 'Z';
};

export const isGroupLeader = (pid: number): boolean => statOf(pid)?.pgrp === pid;

/** Marker in every harness's environment, so a later server can recognize its orphans. */
export const HARNESS_MARKER = 'LAKERAY_HARNESS=1';

/**
 * True when `pid` is a Lakeray harness (or a process a harness started): its environment holds
 * the marker, or, when the environment is unreadable, its command line names a harness.
 * A recycled pid that now belongs to some unrelated program is never matched.
 */
/** Pids of the processes whose environment holds `entry` ("NAME=value"); needs /proc. */
export const processesWithEnv = (entry: string): number[] => {
  if (!hasProc()) return [];
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry)) out.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
};

export const isLakerayHarness = (pid: number): boolean => {
  try {
    const environ = fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    if (environ.includes(HARNESS_MARKER)) return true;
  } catch {
    // not readable (other user, or no /proc): fall back to the command line
  }
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const moduleArg = argv.indexOf('-m');
    return (moduleArg !== -1 && argv[moduleArg + 1] === 'lakeray') || argv.some((a) => a.endsWith('/runtimes/node/harness.mjs'));
  } catch {
    return false;
  }
};
