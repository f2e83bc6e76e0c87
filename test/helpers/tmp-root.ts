/**
 * Vitest global setup: the run's temporary files (data roots, databases, lakes, logs of the
 * servers tests start) go under one directory, removed when the run ends, so runs do not
 * pile up thousands of directories in /tmp. os.tmpdir() follows TMPDIR, which the test
 * workers and every process they start inherit. The run's Ray head, if a test started one
 * (ray-head.ts), lives in that directory and is stopped before it is removed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopRayHead } from './ray-head.ts';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'lakeray-tests-'));
  process.env.TMPDIR = root;
  return () => {
    stopRayHead(root);
    rmSync(root, { recursive: true, force: true });
  };
}
