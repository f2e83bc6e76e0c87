import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Ctx } from '../../../src/cli/context.ts';
import { up, type StartServer } from '../../../src/cli/up.ts';
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
