/**
 * The Lake conformance suite. Every Lake implementation runs it unchanged:
 *
 *   lakeConformance('lance', (root) => LanceLake.open(root));
 *
 * It talks to the lake only through the Lake interface. Each test gets a fresh root directory
 * and a lake opened on it; `ctx.open()` opens a second instance on the same root (what another
 * process would see). Everything opened is closed after the test, and the roots removed.
 */
import { afterAll, afterEach, beforeEach, describe } from 'vitest';
import type { Lake } from '../../../src/lake/lake.ts';
import { readConformance } from './conformance-read.ts';
import { versionConformance } from './conformance-versions.ts';
import { writeConformance } from './conformance-write.ts';
import { tempRoots } from './fixtures.ts';
import type { OpenLake } from './fixtures.ts';

export interface LakeContext {
  /** The lake of the current test. */
  readonly lake: Lake;
  /** Its root directory. */
  readonly root: string;
  /** Another instance on the same root. */
  open(): Promise<Lake>;
}

export function lakeConformance(name: string, open: OpenLake): void {
  describe(`Lake conformance: ${name}`, () => {
    const roots = tempRoots(name.replace(/\W+/g, '-'));
    const opened: Lake[] = [];
    let current: { lake: Lake; root: string } | undefined;
    const ctx: LakeContext = {
      get lake() {
        if (!current) throw new Error('no lake outside a test');
        return current.lake;
      },
      get root() {
        if (!current) throw new Error('no lake outside a test');
        return current.root;
      },
      async open() {
        const lake = await open(ctx.root);
        opened.push(lake);
        return lake;
      },
    };
    beforeEach(async () => {
      const root = roots.next();
      const lake = await open(root);
      opened.push(lake);
      current = { lake, root };
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((l) => l.close()));
      current = undefined;
    });
    afterAll(() => roots.cleanup());

    describe('reads', () => readConformance(ctx));
    describe('writes', () => writeConformance(ctx));
    describe('versions', () => versionConformance(ctx));
  });
}
