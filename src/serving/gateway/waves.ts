/**
 * Waves of session chunks (the gateway's wave rule). Sessions that wait for each answer
 * send in waves: every chain answered within the last batch_timeout_ms sends its next chunk
 * soon. Once each of them has its next chunk queued or running, waiting out the timeout
 * cannot add a chunk to the batch, so the batch closes now. A chain quiet that long, or ended
 * (a session deleted or reaped), holds no batch; a new chain's request or one without a chain
 * keeps the plain rule.
 */
export class ChainWaves {
  /** When each chain's last request settled, in settle order (re-inserted on each answer). */
  private readonly answeredAt = new Map<string, number>();

  answered(chain: string, now: number, timeoutMs: number): void {
    this.answeredAt.delete(chain);
    this.answeredAt.set(chain, now);
    this.forgetQuiet(now, timeoutMs);
  }

  /** Forgets an ended chain; true when one was waited for (a wave may be in now). */
  end(chain: string): boolean {
    return this.answeredAt.delete(chain);
  }

  /** Whether the wave is in: `waiting` are the queued requests (their chains; undefined: no chain), in a list read twice. */
  isIn(waiting: readonly { chain?: string | undefined }[], busy: ReadonlyMap<string, number>, now: number, timeoutMs: number): boolean {
    this.forgetQuiet(now, timeoutMs);
    const expected = this.answeredAt.size;
    if (expected === 0) return false;
    // Called on every arrival while a wave comes in: first a count, without allocating, since each
    // expected chain needs a queued request or a running one. Only a wave that may be in is checked.
    let queuedCount = 0;
    for (const e of waiting) {
      if (e.chain === undefined || !this.answeredAt.has(e.chain)) return false;
      queuedCount++;
    }
    if (queuedCount + busy.size < expected) return false;
    const queued = new Set<string>();
    for (const e of waiting) queued.add(e.chain!);
    for (const chain of this.answeredAt.keys()) if (!queued.has(chain) && !busy.has(chain)) return false;
    return true;
  }

  /** Drops the chains answered timeoutMs ago or earlier (from the front: the map is in answer order). */
  private forgetQuiet(now: number, timeoutMs: number): void {
    const since = now - timeoutMs;
    for (const [chain, at] of this.answeredAt) {
      if (at > since) break;
      this.answeredAt.delete(chain);
    }
  }
}
