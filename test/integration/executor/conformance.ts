/**
 * The Executor conformance suite. Every Executor runs it unchanged, in each of its
 * configurations:
 *
 *   executorConformance('local, cold python', { open, task, processGone });
 *
 * It talks to the executor only through the Executor interface, and admits tasks the way the
 * engine does: a task runs once `reserve` (when the executor has it) gives it room, waiting for
 * the room listener otherwise. What differs between executors comes in through the fixture: how
 * to open one (two opened with the same `owner` are two instances of one server, the later
 * finding the earlier's orphans), how to make a task of each kind (scripts under
 * test/integration/executor/scripts/ for the local executor), and how to tell that the process
 * that ran a task is gone.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Executor, RunCallbacks, RunOutcome } from '../../../src/executors/executor.ts';
import type { Task } from '../../../src/domain/task.ts';

/**
 * echo: reports progress 0.5, log "hello", metric m=1.5, progress 1, and returns
 *   {params, task_id, attempt, env_attempt}; fails: raises "boom"; waits: logs "waiting <pid>",
 *   then waits until cancelled (or params.ms pass); no_run: has no run(); import_error: fails
 *   while it is imported.
 */
export type TaskKind = 'echo' | 'fails' | 'waits' | 'no_run' | 'import_error';

export interface ExecutorFixture {
  open(owner: string): Executor;
  task(kind: TaskKind, params?: Record<string, unknown>, attempt?: number): Task;
  /**
   * True once the process that ran the task no longer runs: as reported to `started` (its
   * placement), or as the task logged it (`waits` logs "waiting <pid>").
   */
  processGone(started: Started, logs: readonly string[]): boolean;
  /** Several tasks share one process: a cancel stops the task, not the process. */
  sharedProcess?: boolean;
  /** Params its harness cannot decode (e.g. nested deeper than its JSON decoder goes), if any. */
  undecodableParams?: () => Record<string, unknown>;
  /** How long a cancelled task may take to leave (its grace period is given to cancel()). */
  graceMs?: number;
  /** How long a task may take to reach its script (default 15 s; a new Ray job: seconds, tens of them under load). */
  startMs?: number;
  /**
   * What a later instance does with a previous one's running task: `kills` it (local
   * processes die with their server) or `follows` it (a Ray job outlives the server).
   */
  reattach?: 'kills' | 'follows';
  /**
   * With `follows`: what a later instance answers for a task whose end a previous instance saw:
   * its `outcome` (kept with the job), or `gone` (the outcome was reported to the previous
   * instance only, as over HTTP: nothing is left to settle it with).
   */
  endedAway?: 'outcome' | 'gone';
}

export type Started = Parameters<RunCallbacks['started']>[0];

interface Run {
  task: Task;
  started: Started[];
  events: { type: string; data: Record<string, unknown> }[];
  exits: RunOutcome[];
  /** Order of the callbacks: 'started', event types, 'exit'. */
  order: string[];
  exited: Promise<RunOutcome>;
  /** What `processGone` said inside the exit callback. */
  goneAtExit?: boolean;
}

const logsOf = (run: Run): string[] => run.events.filter((e) => e.type === 'log').map((e) => String(e.data.message));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const waitFor = async (what: string, check: () => boolean, ms = 30_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
};

/** `depth` levels of `{v: …}`: at 200,000, deeper than any JSON encoder on a call stack goes. */
const nested = (depth: number): Record<string, unknown> => {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < depth; i++) v = { v };
  return v;
};

export function executorConformance(name: string, fx: ExecutorFixture): void {
  describe(`Executor conformance: ${name}`, () => {
    const owner = `conformance-${process.pid}-${Math.random().toString(36).slice(2)}`;
    /** How many times each executor called its room listener. */
    const rooms = new Map<Executor, number>();
    const open = (as: string): Executor => {
      const ex = fx.open(as);
      rooms.set(ex, 0);
      ex.onRoom?.(() => rooms.set(ex, (rooms.get(ex) ?? 0) + 1));
      return ex;
    };
    const executor = open(owner);
    afterAll(() => executor.close());
    const grace = fx.graceMs ?? 3000;
    const startMs = fx.startMs ?? 15_000;

    /** Admit as the engine does (room first), then run; records every callback. */
    const start = async (task: Task, on: Executor = executor): Promise<Run> => {
      if (on.reserve) {
        const deadline = Date.now() + 30_000;
        for (let seen = rooms.get(on); !on.reserve(task, []); seen = rooms.get(on)) {
          if (Date.now() > deadline) throw new Error(`no room for ${task.id}`);
          while (rooms.get(on) === seen && Date.now() < deadline) await sleep(10);
        }
      }
      let resolve!: (o: RunOutcome) => void;
      const run: Run = { task, started: [], events: [], exits: [], order: [], exited: new Promise((r) => (resolve = r)) };
      on.run(task, [], {
        started: (info) => {
          run.started.push(info);
          run.order.push('started');
        },
        event: (type, data) => {
          run.events.push({ type, data });
          run.order.push(type);
        },
        exit: (outcome) => {
          run.exits.push(outcome);
          run.order.push('exit');
          if (run.started[0] !== undefined) run.goneAtExit = fx.processGone(run.started[0], logsOf(run));
          resolve(outcome);
        },
      });
      return run;
    };
    const waiting = (run: Run) =>
      waitFor(`${run.task.id} to start waiting`, () => run.events.some((e) => e.type === 'log' && String(e.data.message).startsWith('waiting ')), Math.max(30_000, startMs * 2));
    /** A later callback would break "exactly one exit": give it time to show. */
    const settleDown = () => sleep(200);

    it('runs a task: started, then its events in order, then exactly one exit with the result', async () => {
      const run = await start(fx.task('echo', { n: 1, nested: { ok: true } }, 2));
      const outcome = await run.exited;
      await settleDown();
      expect(outcome).toMatchObject({ kind: 'completed', result: { params: { n: 1, nested: { ok: true } }, task_id: run.task.id, attempt: 2, env_attempt: '2' } });
      expect(run.exits).toHaveLength(1);
      expect(run.started).toHaveLength(1);
      expect(run.order[0]).toBe('started');
      expect(run.order.at(-1)).toBe('exit');
      const reported = run.events.filter((e) => e.type !== 'log' || e.data.message === 'hello').map((e) => [e.type, e.data.fraction ?? e.data.message ?? e.data.value]);
      expect(reported).toEqual([
        ['progress', 0.5],
        ['log', 'hello'],
        ['metric', 1.5],
        ['progress', 1],
      ]);
    });

    it('fails a task whose script raises, with exactly one exit', async () => {
      const run = await start(fx.task('fails'));
      const outcome = await run.exited;
      await settleDown();
      expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'SCRIPT_ERROR' } });
      expect(outcome.kind === 'failed' && outcome.error.message).toContain('boom');
      expect(run.exits).toHaveLength(1);
    });

    it('cancels a task: exit `cancelled` once its script is stopped, its slot free, a task beside it unaffected', async () => {
      const sibling = await start(fx.task('waits', { ms: 2500 }));
      const victim = await start(fx.task('waits'));
      await Promise.all([waiting(sibling), waiting(victim)]);
      const at = Date.now();
      executor.cancel(victim.task.id, grace);
      expect(await victim.exited).toEqual({ kind: 'cancelled' });
      expect(Date.now() - at).toBeLessThan(grace + 5000);
      if (!fx.sharedProcess) expect(victim.goneAtExit).toBe(true);
      expect(await sibling.exited).toMatchObject({ kind: 'completed', result: { waited: true } });
      await settleDown();
      expect(victim.exits).toHaveLength(1);
      // Its room is free again: the next task is admitted and runs.
      const next = await start(fx.task('echo'));
      expect((await next.exited).kind).toBe('completed');
    });

    it('a cancel of a task that already ended changes nothing', async () => {
      const run = await start(fx.task('echo'));
      await run.exited;
      executor.cancel(run.task.id, grace);
      await settleDown();
      expect(run.exits).toEqual([expect.objectContaining({ kind: 'completed' })]);
    });

    const startFailures: [string, () => Task, string][] = [
      ['a script without run()', () => fx.task('no_run'), 'SCRIPT_ERROR'],
      ['a script that fails to import', () => fx.task('import_error'), 'SCRIPT_ERROR'],
      ['params the platform cannot encode', () => fx.task('echo', nested(200_000)), 'JOB_UNREADABLE'],
    ];
    if (fx.undecodableParams) {
      const params = fx.undecodableParams;
      startFailures.push(['params its harness cannot decode', () => fx.task('echo', params()), 'JOB_UNREADABLE']);
    }
    for (const [what, make, code] of startFailures) {
      it(`fails at once, with ${code}, a task it cannot start: ${what}; its room is free again`, async () => {
        const at = Date.now();
        const run = await start(make());
        const outcome = await run.exited;
        expect(outcome).toMatchObject({ kind: 'failed', error: { code } });
        expect(Date.now() - at).toBeLessThan(startMs);
        await settleDown();
        expect(run.exits).toHaveLength(1);
        const next = await start(fx.task('echo'));
        expect((await next.exited).kind).toBe('completed');
      });
    }

    if (fx.reattach === 'follows') {
      it("follows a previous server instance's running task to exactly one exit, and answers for ended and unknown ones", async () => {
        const server = `${owner}-reattach`;
        const previous = open(server);
        // One after the other: a job's start takes tens of seconds on a loaded Ray head, and the
        // waiting task must still run when the next instance re-attaches (a few seconds after it logged).
        const ended = await start(fx.task('echo'), previous);
        await ended.exited;
        const running = await start(fx.task('waits', { ms: 5000 }), previous);
        await waiting(running);
        await previous.close(); // the server goes away; its task runs on
        const placedOf = (run: Run) => ({ ...run.task, status: 'running' as const, assignment: { gpus: [], placement: (run.started[0] as Started).placement } });
        const unknown = { ...fx.task('echo'), status: 'running' as const };
        const next = open(server);
        try {
          const events: string[] = [];
          const exits: RunOutcome[] = [];
          const answers = await next.reattach([placedOf(running), placedOf(ended), unknown], () => ({
            started: () => events.push('started'),
            event: (type) => events.push(type),
            exit: (outcome) => exits.push(outcome),
          }));
          expect(answers.get(running.task.id)).toEqual({ state: 'running' });
          if (fx.endedAway === 'gone') expect(answers.get(ended.task.id)).toMatchObject({ state: 'gone' });
          else expect(answers.get(ended.task.id)).toMatchObject({ state: 'finished', outcome: { kind: 'completed', result: { task_id: ended.task.id } } });
          expect(answers.get(unknown.id)).toMatchObject({ state: 'gone' });
          await waitFor('the re-attached task to end', () => exits.length > 0, 60_000);
          await settleDown();
          expect(exits).toEqual([expect.objectContaining({ kind: 'completed', result: expect.objectContaining({ waited: true }) })]);
          expect(running.exits).toEqual([]); // the closed instance never settles it
          expect(events).not.toContain('started'); // started once, under the previous instance
        } finally {
          await next.close();
        }
      });
    }

    if (fx.reattach !== 'follows') it("kills the processes of a previous server instance's tasks", async () => {
      // An owner of their own: the suite's executor must not count as a previous instance.
      const server = `${owner}-orphans`;
      const previous = open(server);
      try {
        const orphan = await start(fx.task('waits'), previous);
        await waiting(orphan);
        const { placement } = orphan.started[0] as Started;
        const placed = { ...orphan.task, status: 'running' as const, assignment: { gpus: [], ...(placement ? { placement } : {}) } };
        const next = open(server);
        try {
          const answers = await next.reattach([placed], () => {
            throw new Error('a gone task gets no callbacks');
          });
          expect(answers.get(placed.id)).toMatchObject({ state: 'gone' });
          expect((await orphan.exited).kind).toBe('failed');
          expect(fx.processGone(orphan.started[0] as Started, logsOf(orphan))).toBe(true);
        } finally {
          await next.close();
        }
      } finally {
        await previous.close();
      }
    });
  });
}
