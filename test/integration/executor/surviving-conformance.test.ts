/**
 * The engine's re-attach tests run on SurvivingExecutor (surviving-executor.ts): it passes
 * the Executor conformance suite, re-attach included, as any executor must.
 */
import { executorConformance } from './conformance.ts';
import { local } from './local-fixture.ts';
import { Cluster, SurvivingExecutor } from './surviving-executor.ts';
import { makeExecutor } from './helpers.ts';
import path from 'node:path';

const clusters = new Map<string, Cluster>();
const python = local('python');

executorConformance('a surviving cluster (test executor)', {
  ...python,
  open: (owner) => {
    let cluster = clusters.get(owner);
    if (!cluster) clusters.set(owner, (cluster = new Cluster(owner, makeExecutor({ kill_grace_ms: 3000 }, { scriptRoots: [path.join(import.meta.dirname, 'scripts')] }))));
    return new SurvivingExecutor(cluster);
  },
  reattach: 'follows',
});
