/**
 * Leaving the harness: a task's processes must not outlive it. The platform spawns the
 * harness as the leader of its own process group, and the script's children join that group,
 * so on exit the leader kills what is left of it. A harness started by hand shares its shell's
 * group and must not do that, hence the leader check.
 */
import fs from 'node:fs';

/** [state, ppid, pgrp] of a process, from /proc (Linux); null when unreadable. */
const statOf = (pid) => {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], pgrp: Number(fields[2]) };
  } catch {
    return null;
  }
};

const killGroupExceptSelf = () => {
  if (statOf(process.pid)?.pgrp !== process.pid) return;
  let entries;
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return;
  }
  for (const name of entries) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const stat = statOf(pid);
    if (stat === null || stat.pgrp !== process.pid || stat.state === 'Z') continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
};

export const shutdown = (code) => {
  killGroupExceptSelf();
  process.exit(code);
};
