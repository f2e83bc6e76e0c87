/**
 * The Node versions README promises are package.json's `engines.node`, and every package the
 * lock file installs accepts all of them: a dependency that wants a newer Node (npm's
 * EBADENGINE warning) fails here, naming the package, before a user sees the warning. The Node
 * running the tests (CI's) must be one README promises too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/main.ts';

const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};
const promised = pkg.engines.node;

describe('supported Node versions', () => {
  it('README states the range package.json promises', () => {
    const readme = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
    expect(semver.validRange(promised)).not.toBeNull();
    expect(readme).toContain(`Node \`${promised}\``);
  });

  it('every locked package accepts every promised Node version', () => {
    const excluding = Object.entries(lock.packages)
      .filter(([path]) => path !== '')
      .flatMap(([path, p]) => {
        const wants = !Array.isArray(p.engines) ? p.engines?.node : undefined;
        return wants !== undefined && !semver.subset(promised, wants, { includePrerelease: false }) ? [`${path}@${p.version} wants node ${wants}`] : [];
      });
    expect(excluding).toEqual([]);
  });

  it('the Node running this is one of them', () => {
    expect(semver.satisfies(process.version, promised), `${process.version} vs ${promised}`).toBe(true);
  });
});
