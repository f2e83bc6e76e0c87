/**
 * The event channel: JSON lines on a dedicated pipe (fd 3 by default), never on stdout.
 *
 * Lines are appended to one buffer and written whole, in order, by synchronous writes, so a
 * line is never torn or interleaved whatever the concurrency of jobs in this worker, and
 * nothing is lost when the process exits (the buffer is flushed on 'exit').
 *
 * Coalescing: `send`/`emit` only append; the buffer is written once at the end of the current
 * event-loop turn (setImmediate, no delay), so the started/result/done lines of the 50 jobs a
 * worker handles in one turn cost one write system call instead of 150. `flush()` writes now:
 * the harness calls it before it runs script code (which may block the loop), and `emitNow`
 * (ctx.progress, console output, ...) writes at once, behind whatever is buffered, so an event
 * a script reports is never held back by a script that then computes for a while.
 */
import fs from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));
/** A buffer this large is written at once rather than at the end of the turn. */
const MAX_PENDING_CHARS = 64 * 1024;

/** `onBroken` runs when the platform end is gone (nobody will ever read our events). */
export const createChannel = (fd, onBroken) => {
  let pending = '';
  let scheduled = false;
  let broken = false;

  const write = (text) => {
    const buf = Buffer.from(text, 'utf8');
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
        broken = true;
        onBroken(err);
        return;
      }
    }
  };

  const flush = () => {
    if (pending === '' || broken) return;
    const text = pending;
    pending = '';
    write(text);
  };

  const onTurnEnd = () => {
    scheduled = false;
    flush();
  };

  const send = (line) => {
    pending += line;
    if (pending.length >= MAX_PENDING_CHARS) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(onTurnEnd);
    }
  };

  process.on('exit', flush); // process.exit() (shutdown, --once, a crash): what is buffered still goes out

  const encode = (msg) => `${JSON.stringify(msg)}\n`;
  return {
    send,
    flush,
    /** Throws (before writing anything) when `msg` cannot be serialized. */
    encode,
    /** Buffered until the end of this event-loop turn (protocol lines: started, result, done). */
    emit: (msg) => send(encode(msg)),
    /** Written now, after what is buffered (events a script reports while it runs). */
    emitNow: (msg) => {
      pending += encode(msg);
      flush();
    },
  };
};
