import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Ctx } from '../../../src/cli/context.ts';
import { EXIT } from '../../../src/cli/errors.ts';
import { main } from '../../../src/cli/index.ts';
import { ingestionLine, up, type StartServer } from '../../../src/cli/up.ts';
import type { IngestionOutcome } from '../../../src/examples.ts';
import { Sink } from './fake-api.ts';

function setup(json = false) {
  const stdout = new Sink();
  const stderr = new Sink();
  const signals = new EventEmitter();
  const ctx = new Ctx({ stdout, stderr, env: {}, cwd: '/tmp', signals }, { json, config: 'my.yaml' });
  return { ctx, stdout, stderr, signals };
}

describe('lakeray up', () => {
  it('starts the server with the flags, prints the URL and closes on SIGTERM', async () => {
    const { ctx, stdout, stderr, signals } = setup();
    const calls: unknown[] = [];
    let closed = 0;
    const start: StartServer = async (opts) => {
      calls.push(opts);
      return { url: 'http://127.0.0.1:8123', close: async () => void closed++ };
    };
    const running = up(ctx, { port: 8123, host: '0.0.0.0', examples: true }, start);
    while (!stdout.text) await new Promise((r) => setTimeout(r, 1));
    expect(stdout.text).toBe('Lakeray is running at http://127.0.0.1:8123  (Ctrl-C to stop)\n  Web UI:       http://127.0.0.1:8123/\n  API docs:     http://127.0.0.1:8123/docs\n');
    expect(calls).toEqual([{ configPath: 'my.yaml', port: 8123, host: '0.0.0.0', examples: true }]);
    signals.emit('SIGTERM');
    expect(await running).toBe(0);
    expect(closed).toBe(1);
    expect(stderr.text).toContain('SIGTERM: shutting down');
    expect(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('with --examples: reports how the ingestion ended — a failure on stderr in one line with its fix — not only that it started', async () => {
    const { ctx, stdout, stderr, signals } = setup();
    let fail!: (o: IngestionOutcome) => void;
    const outcome = new Promise<IngestionOutcome>((r) => (fail = r));
    const start: StartServer = async () => ({ url: 'http://h:1', close: async () => {}, examples: { ingestion: { task: 't_1', outcome } } });
    const running = up(ctx, { examples: true }, start);
    while (!stdout.text.includes('Drawing page')) await new Promise((r) => setTimeout(r, 1));
    expect(stdout.text).toContain('  Fashion-MNIST → dataset mnist_clean: ingesting (task t_1; lakeray watch t_1)\n  Train, register');
    expect(stderr.text).toBe('');
    const message = 'Fashion-MNIST is not installed (no IDX files in /usr/share/datasets/fashion-mnist). Fix: sudo apt-get install dataset-fashion-mnist';
    fail({ state: 'failed', task: 't_1', code: 'INPUT_NOT_FOUND', message });
    while (!stderr.text) await new Promise((r) => setTimeout(r, 1));
    expect(stderr.text).toBe(`  ✗ dataset mnist_clean was not ingested: ${message}\n`);
    signals.emit('SIGTERM');
    expect(await running).toBe(0);
  });

  it('with --examples: other failures point at the logs; success and presence say so on stdout', () => {
    expect(ingestionLine({ state: 'failed', task: 't_2', code: 'SCRIPT_ERROR', message: 'ValueError: boom' })).toBe(
      '  ✗ dataset mnist_clean was not ingested: ValueError: boom (SCRIPT_ERROR; see: lakeray logs t_2)',
    );
    expect(ingestionLine({ state: 'ingested', task: 't_3', rows: 70000, seconds: 3.26 })).toBe('  ✓ dataset mnist_clean: 70,000 rows ingested in 3.3 s (task t_3)');
    expect(ingestionLine({ state: 'present' })).toBe('  ✓ dataset mnist_clean is in the lake');
  });

  it('with --examples and --json: the outcome is a JSON line', async () => {
    const { ctx, stdout, signals } = setup(true);
    const start: StartServer = async () => ({
      url: 'http://h:1',
      close: async () => {},
      examples: { ingestion: { task: 't_4', outcome: Promise.resolve({ state: 'ingested', task: 't_4', rows: 5, seconds: 1 } as IngestionOutcome) } },
    });
    const running = up(ctx, { examples: true }, start);
    while (stdout.text.split('\n').length < 3) await new Promise((r) => setTimeout(r, 1));
    expect(stdout.text.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { url: 'http://h:1' },
      { examples: { dataset: 'mnist_clean', state: 'ingested', task: 't_4', rows: 5, seconds: 1 } },
    ]);
    signals.emit('SIGTERM');
    expect(await running).toBe(0);
  });

  it('a second Ctrl-C during a stuck shutdown forces the exit', async () => {
    const { ctx, stdout, signals } = setup(true);
    let release!: () => void;
    const start: StartServer = async () => ({ url: 'http://h:1', close: () => new Promise<void>((r) => (release = r)) });
    const exits: number[] = [];
    const running = up(ctx, {}, start, (code) => {
      exits.push(code);
      release();
    });
    while (!stdout.text) await new Promise((r) => setTimeout(r, 1));
    expect(JSON.parse(stdout.text)).toEqual({ url: 'http://h:1' });
    signals.emit('SIGINT');
    await new Promise((r) => setTimeout(r, 5));
    signals.emit('SIGINT');
    await running;
    expect(exits).toEqual([130]);
  });
});

describe('lakeray up --role', () => {
  it('passes the role to the server, and refuses one it does not know with usage', async () => {
    const { ctx, stdout, signals } = setup();
    const calls: unknown[] = [];
    const start: StartServer = async (opts) => {
      calls.push(opts);
      return { url: 'http://h:1', close: async () => {} };
    };
    const running = up(ctx, { role: 'api' }, start);
    while (!stdout.text) await new Promise((r) => setTimeout(r, 1));
    expect(calls).toEqual([{ configPath: 'my.yaml', role: 'api' }]);
    signals.emit('SIGTERM');
    expect(await running).toBe(0);

    const stderr = new Sink();
    const io = { stdout: new Sink(), stderr, env: {}, cwd: '/tmp', signals: new EventEmitter() };
    expect(await main(['up', '--role', 'leader'], io)).toBe(EXIT.USAGE);
    expect(stderr.text).toContain("argument 'leader' is invalid. Allowed choices are all, api, scheduler");
  });
});
