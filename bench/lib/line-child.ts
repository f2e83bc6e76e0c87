/**
 * A long-lived child process that answers JSON lines: one request line on its stdin, one
 * answer line on its stdout, in order. The baselines that must stay warm between rounds (a
 * Python process that already imported its libraries) run this way, so a benchmark can
 * interleave their rounds with the platform's without paying their start each time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { killGroup, waitExit } from './child-process.ts';

export interface LineChild {
  ask<T = any>(request: unknown): Promise<T>;
  close(): Promise<void>;
}

export async function startLineChild(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<LineChild> {
  const child: ChildProcess = spawn(command, args, { env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  const onExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', onExit);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const waiting: { resolve(v: unknown): void; reject(e: Error): void }[] = [];
  const failAll = (why: string) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`${command} ${args.join(' ')}: ${why}\n${stderr}`));
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const w = waiting.shift();
    if (!w) return;
    try {
      const answer = JSON.parse(line);
      if (answer && typeof answer === 'object' && 'error' in answer) w.reject(new Error(String(answer.error)));
      else w.resolve(answer);
    } catch {
      w.reject(new Error(`not a JSON line: ${line.slice(0, 200)}`));
    }
  });
  child.on('exit', (code, signal) => failAll(`exited (${code ?? signal})`));
  child.on('error', (e) => failAll(e.message));
  const lineChild: LineChild = {
    ask(request) {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin!.write(`${JSON.stringify(request)}\n`);
      });
    },
    async close() {
      child.stdin!.end();
      if (!(await waitExit(child, 5_000))) killGroup(child, 'SIGKILL');
      killGroup(child, 'SIGKILL');
      await waitExit(child, 5_000);
      process.removeListener('exit', onExit);
    },
  };
  // The first answer says the child is ready (it imported what it preloads).
  await new Promise<void>((resolve, reject) => waiting.push({ resolve: () => resolve(), reject }));
  return lineChild;
}
