/**
 * Vitest global setup: the run's temporary files (data roots, databases, lakes, logs of the
 * servers tests start) go under one directory, removed when the run ends, so runs do not
 * pile up thousands of directories in /tmp. os.tmpdir() follows TMPDIR, which the test
 * workers and every process they start inherit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'lakeray-tests-'));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
