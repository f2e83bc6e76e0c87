// Runs WAL checkpoints on its own connection in a worker thread (see checkpointer.ts).
// Plain JS on purpose: worker threads do not inherit a TypeScript loader everywhere.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.path);
db.pragma(`busy_timeout = ${workerData.busyTimeoutMs}`);
const timer = setInterval(() => {
  try {
    // PASSIVE: copies what it can without waiting on readers or blocking the writer.
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // busy or closing: the next tick tries again
  }
}, workerData.intervalMs);

parentPort.on('message', (msg) => {
  if (msg !== 'close') return;
  clearInterval(timer);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {
    // another connection still reads; the WAL is checkpointed on the next open
  }
  db.close();
  parentPort.postMessage('closed');
});
