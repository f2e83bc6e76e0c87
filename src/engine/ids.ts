/**
 * Task ids: "t_" + 10 chars of time (base32, ms) + 4 chars of a per-millisecond counter +
 * 10 random chars. They sort by creation order, even within one millisecond (a batch keeps
 * its order in the queue); the random part makes them unguessable.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

const encodeTime = (ms: number): string => {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = (ALPHABET[ms % 32] as string) + out;
    ms = Math.floor(ms / 32);
  }
  return out;
};

let pool = Buffer.alloc(0);
let offset = 0;
const random = (n: number): string => {
  if (offset + n > pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  let out = '';
  for (let i = 0; i < n; i++) out += ALPHABET[(pool[offset + i] as number) & 31];
  offset += n;
  return out;
};

let lastMs = -1;
let counter = 0;

export const newTaskId = (now = Date.now()): string => {
  // A clock step backwards keeps the previous millisecond so ids stay increasing.
  if (now > lastMs) {
    lastMs = now;
    counter = 0;
  } else counter++;
  const c = counter.toString(32).padStart(4, '0');
  return `t_${encodeTime(lastMs)}${c}${random(10)}`;
};
