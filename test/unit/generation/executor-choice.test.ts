import { describe, expect, it } from 'vitest';
import { catalogExecutors, chooseExecutor } from '../../../src/generation/executor-choice.ts';

const executors = (entries: [string, string][]) => new Map(entries.map(([name, kind]) => [name, { kind, runsCommands: false }]));

describe('chooseExecutor (a model’s executor: a name, else the one executor of that kind)', () => {
  it('a configured name wins over a kind', () => {
    const ex = executors([['local', 'local'], ['ray', 'ray'], ['gpu-b', 'ray']]);
    expect(chooseExecutor('ray', ex)).toMatchObject({ name: 'ray' });
    expect(chooseExecutor('gpu-b', ex)).toMatchObject({ name: 'gpu-b', executor: { kind: 'ray' } });
  });

  it('a kind matches the only executor of that kind, whatever its name', () => {
    expect(chooseExecutor('ray', executors([['local', 'local'], ['gpu-cluster', 'ray']]))).toMatchObject({ name: 'gpu-cluster' });
  });

  it('several of the kind: asks for a name; none: says how to configure a Ray executor', () => {
    expect(chooseExecutor('ray', executors([['a', 'ray'], ['b', 'ray']]))).toEqual({
      reason: 'several executors are of kind "ray" (a, b): name one in the model\'s executor field',
    });
    const none = chooseExecutor('ray', executors([['local', 'local']]));
    expect('reason' in none && none.reason).toMatch(/^no executor of kind "ray" is configured on this server: add a Ray executor to lakeray\.yaml, e\.g\. `executors: \{ray: \{kind: ray, address: http:\/\/<ray-head>:8265\}\}`.*docs\/ray\.md/);
    expect(chooseExecutor('slurm-a', executors([['local', 'local']]))).toEqual({ reason: 'executor "slurm-a" is not configured on this server' });
  });

  it('catalogExecutors reads each executor’s kind; one that states none is local', () => {
    const seen = catalogExecutors(new Map<string, object>([['local', { name: 'local' }], ['gpu', { name: 'gpu', kind: 'ray' }]]));
    expect([...seen]).toEqual([['local', { kind: 'local', runsCommands: false }], ['gpu', { kind: 'ray', runsCommands: false }]]);
  });
});
