/** The Ray executor, mode `job`, passes the Executor conformance suite against a real Ray head. */
import { afterAll, vi } from 'vitest';
import { executorConformance } from '../executor/conformance.ts';
import { rayJobFixture, rayUrl, reportFront } from './ray-job-fixture.ts';

// A Ray job takes ~2 s to start on a quiet machine and ~20 s on this one under load.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

// The jobs report over HTTP to the platform's real reports route (docs/ray.md "Reports").
const front = await reportFront();
afterAll(() => front.close());

executorConformance('ray, mode job', rayJobFixture(await rayUrl(), front));
