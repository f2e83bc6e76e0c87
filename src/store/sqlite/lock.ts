/**
 * Embedded SQLite is used by one server at a time: the engine treats every lease it does
 * not hold as stale. This lock file (holding the owner's pid) makes a second server on the
 * same database fail at start instead of recovering tasks the first one is still running.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export class LockedError extends Error {
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(`another Lakeray server (pid ${pid}) is using this database (lock ${path}); stop it first or use another state_dir`);
    this.name = 'LockedError';
  }
}

export function acquireLock(path: string): { release(): void } {
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return {
        release: () => {
          try {
            if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new LockedError(path, pid);
      unlinkSync(path); // left by a server that died (kill -9): take it over
    }
  }
  throw new Error(`could not acquire ${path}`);
}
