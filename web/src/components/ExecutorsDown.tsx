/**
 * Names the executors that are down (a Ray cluster that does not answer): their tasks wait in
 * the queue until it is back, the others run. `only` limits it to one executor (a task's page).
 */
import type { ExecutorInfo } from '../api/types.ts';
import { Callout } from './States.tsx';

export function ExecutorsDown({ executors, only }: { executors: readonly ExecutorInfo[]; only?: string }) {
  const down = executors.filter((e) => !e.health.ok && (only === undefined || e.name === only));
  if (down.length === 0) return null;
  return (
    <div data-testid="executors-down">
      <Callout tone="warning" title={down.length === 1 ? `Executor ${down[0]!.name} is down` : `Executors ${down.map((e) => e.name).join(', ')} are down`}>
        <ul className="plain-list">
          {down.map((e) => (
            <li key={e.name} data-executor={e.name}>
              <strong>{e.name}</strong>: {e.health.message ?? 'not reachable'}
            </li>
          ))}
        </ul>
        Their tasks wait in the queue until they are back; other executors keep running.
      </Callout>
    </div>
  );
}
