/**
 * Moves WAL checkpoints off the event loop. better-sqlite3 is synchronous, and SQLite's
 * automatic checkpoint runs inside whichever commit crosses the threshold: at thousands of
 * commits per second that is a pause of tens of milliseconds every few seconds on the main
 * thread, felt by every live event and request. Instead, a worker thread with its own
 * connection checkpoints every `intervalMs` in PASSIVE mode; the main connection keeps only a
 * far-off automatic checkpoint as a safety net should the worker stop.
 */
import { Worker } from 'node:worker_threads';

export const SAFETY_AUTOCHECKPOINT_PAGES = 100_000;

export class Checkpointer {
  private readonly worker: Worker;

  constructor(path: string, intervalMs = 500, busyTimeoutMs = 5000) {
    this.worker = new Worker(new URL('./checkpoint-worker.mjs', import.meta.url), {
      workerData: { path, intervalMs, busyTimeoutMs },
      // Inherit nothing: the worker is plain JS and must not load a TypeScript loader.
      execArgv: [],
    });
    this.worker.unref();
    this.worker.on('error', () => {}); // the safety checkpoint covers a dead worker
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      this.worker.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.worker.postMessage('close');
    });
    await this.worker.terminate();
  }
}
