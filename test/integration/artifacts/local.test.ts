import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArtifactStore } from '../../../src/artifacts/local/local-artifact-store.ts';
import { artifactStoreConformance } from './conformance.ts';

artifactStoreConformance('local', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lakeray-artifacts-local-'));
  return { store: await new LocalArtifactStore(root).init(), close: async () => rmSync(root, { recursive: true, force: true }) };
});
