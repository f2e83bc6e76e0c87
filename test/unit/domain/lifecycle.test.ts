import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canTransition, IllegalTransitionError, sourcesOf, transition, TRANSITIONS } from '../../../src/domain/lifecycle.ts';
import { isTerminal, TASK_STATUSES, type TaskStatus } from '../../../src/domain/task.ts';

describe('lifecycle', () => {
  it('allows the documented transitions', () => {
    expect(transition('pending', 'running')).toBe('running');
    expect(transition('running', 'completed')).toBe('completed');
    expect(transition('running', 'failed')).toBe('failed');
    expect(transition('running', 'cancelling')).toBe('cancelling');
    expect(transition('cancelling', 'cancelled')).toBe('cancelled');
    expect(transition('pending', 'cancelled')).toBe('cancelled');
    expect(transition('running', 'pending')).toBe('pending');
  });

  it('refuses illegal transitions with an error', () => {
    expect(() => transition('completed', 'running')).toThrow(IllegalTransitionError);
    expect(() => transition('pending', 'completed')).toThrow(/pending → completed/);
    expect(() => transition('cancelling', 'running')).toThrow(IllegalTransitionError);
    expect(() => transition('running', 'cancelled')).toThrow(IllegalTransitionError);
  });

  it('terminal states have no way out', () => {
    for (const s of TASK_STATUSES) if (isTerminal(s)) expect(TRANSITIONS[s]).toEqual([]);
  });

  it('sourcesOf is the inverse of the table', () => {
    for (const to of TASK_STATUSES) for (const from of sourcesOf(to)) expect(canTransition(from, to)).toBe(true);
  });

  it('property: any walk of attempted transitions only visits legal states and ends at most once', () => {
    const status = fc.constantFrom(...TASK_STATUSES);
    fc.assert(
      fc.property(fc.array(status, { maxLength: 50 }), (attempts) => {
        let s: TaskStatus = 'pending';
        let terminalReached = 0;
        for (const to of attempts) {
          if (canTransition(s, to)) {
            s = transition(s, to);
            if (isTerminal(s)) terminalReached++;
          } else expect(() => transition(s, to)).toThrow();
        }
        expect(terminalReached).toBeLessThanOrEqual(1);
        // cancelled is only reachable from queued or cancelling
        return true;
      }),
    );
  });

  it('property: cancelled is reached only via queued or cancelling', () => {
    expect(sourcesOf('cancelled').sort()).toEqual(['cancelling', 'pending']);
  });
});
