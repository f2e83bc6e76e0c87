/**
 * The event channel: JSON lines on a dedicated pipe (fd 3 by default), never on stdout.
 * Writes are synchronous so a line is complete before the next one starts, whatever the
 * concurrency of jobs in this worker, and so nothing is lost when the process exits.
 */
import fs from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));

/** `onBroken` runs when the platform end is gone (nobody will ever read our events). */
export const createChannel = (fd, onBroken) => {
  const send = (line) => {
    const buf = Buffer.from(line, 'utf8');
    let offset = 0;
    while (offset < buf.length) {
      try {
        offset += fs.writeSync(fd, buf, offset);
      } catch (err) {
        // A non-blocking pipe that is full: wait a little for the platform to read, then retry.
        if (err.code === 'EAGAIN') {
          Atomics.wait(pause, 0, 0, 2);
          continue;
        }
        onBroken(err);
        return;
      }
    }
  };
  return {
    send,
    /** Throws (before writing anything) when `msg` cannot be serialized. */
    encode: (msg) => `${JSON.stringify(msg)}\n`,
    emit: (msg) => send(`${JSON.stringify(msg)}\n`),
  };
};
