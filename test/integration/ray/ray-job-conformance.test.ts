/** The Ray executor, mode `job`, passes the Executor conformance suite against a real Ray head. */
import { vi } from 'vitest';
import { executorConformance } from '../executor/conformance.ts';
import { rayJobFixture, rayUrl } from './ray-job-fixture.ts';

// A Ray job takes ~2 s to start on a quiet machine and ~20 s on this one under load.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

executorConformance('ray, mode job', rayJobFixture(await rayUrl()));
