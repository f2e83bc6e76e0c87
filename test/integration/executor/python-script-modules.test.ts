import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeExecutor, makeTask, runTask, succeeded, tempDir } from './helpers.ts';

// A warm Python worker drops the modules a script imported from its own directory after each
// job (an edited helper must be seen by the next job) and imports them again for the next one.
// Their compiled code is kept while their files are unchanged, as the script's own is: without
// that, a worker with no writable bytecode cache compiled every helper again on every job
// (~20 ms per job for the demo video model's three helpers, 1.4% of its run).
describe('local executor: a python script’s own modules in a warm worker', () => {
  it('compiles a helper module once while its file is unchanged, and again when it changes', async () => {
    const root = tempDir();
    const executor = makeExecutor(
      { pools: [{ name: 'p', runtime: 'python', preload: [], min: 0, max: 1, idle_timeout_s: 60, concurrency: 1 }] },
      { scriptRoots: [root] },
    );
    try {
      const writeHelper = (version: number) => fs.writeFileSync(path.join(root, 'helper.py'), `VERSION = ${version}\ndef f():\n    return VERSION\n`);
      // The worker's sys module outlives jobs: the script keeps the helper's code object there
      // and tells whether this job's helper runs the very same one.
      fs.writeFileSync(
        path.join(root, 'uses_helper.py'),
        [
          'import sys, helper',
          'def run(i, o, p):',
          '    code, module = getattr(sys, "_lakeray_test_seen", (None, None))',
          '    sys._lakeray_test_seen = (helper.f.__code__, helper)',
          '    return [helper.f(), code is helper.f.__code__, module is not helper]',
          '',
        ].join('\n'),
      );
      const job = async () => succeeded((await runTask(executor, makeTask({ script: 'uses_helper.py', pool: 'p' }))).exits[0]!) as unknown as unknown[];
      writeHelper(1);
      const first = await job();
      const second = await job();
      await new Promise((resolve) => setTimeout(resolve, 20)); // a later mtime, whatever the clock's granularity
      writeHelper(2);
      const edited = await job();
      expect(first).toEqual([1, false, true]);
      expect(second).toEqual([1, true, true]); // same code, still a module of its own
      expect(edited).toEqual([2, false, true]); // the edit is compiled and seen
    } finally {
      await executor.close();
    }
  });
});
