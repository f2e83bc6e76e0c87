/**
 * The local executor passes the Executor conformance suite with warm pools: a python pool, and
 * a node pool whose workers run several tasks at once.
 */
import { executorConformance } from './conformance.ts';
import { local } from './local-fixture.ts';

executorConformance('local, python warm pool', local('python', [{ name: 'py', runtime: 'python', preload: [], min: 0, max: 2, idle_timeout_s: 60, concurrency: 1 }]));
executorConformance('local, node warm pool with concurrency 4', {
  ...local('node', [{ name: 'js', runtime: 'node', preload: [], min: 0, max: 1, idle_timeout_s: 60, concurrency: 4 }]),
  sharedProcess: true,
});
