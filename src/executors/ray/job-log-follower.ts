/**
 * Follows a Ray job's log as new lines: each `read()` fetches the whole log (the only form
 * `GET /api/jobs/{id}/logs` has) and returns the complete lines added since the last read.
 *
 * Why polling the whole log rather than the WebSocket `/logs/tail`: the tail replays the file
 * from its first line on every connection (Ray's file_tail_iterator opens the file afresh), so
 * a client must count what it has seen either way; a socket per running job is state that a
 * restart of Lakeray or the head loses, while an offset is a number the engine can keep and
 * resume from after re-attaching, without repeating or losing a line; and a plain GET shares
 * the client's deadline, auth and error classification. The cost is re-reading the log each
 * time (O(size) per poll), which is bounded by the poll interval the executor chooses.
 *
 * `offset` counts the characters of the decoded log consumed so far (complete lines only),
 * so a partial last line is held back until its newline arrives or the job is over.
 */
import type { RayJobsClient } from './jobs-client.ts';

export interface LogChunk {
  lines: string[];
  /** characters consumed so far; give it back to a new follower to resume */
  offset: number;
  /** the log was shorter than the offset (Ray lost it): reading started again from its start */
  restarted: boolean;
}

export class JobLogFollower {
  private consumed: number;

  constructor(
    private readonly client: Pick<RayJobsClient, 'logs'>,
    readonly submissionId: string,
    offset = 0,
  ) {
    this.consumed = offset;
  }

  get offset(): number {
    return this.consumed;
  }

  /** The complete lines written since the last read. */
  async read(): Promise<LogChunk> {
    return this.take(await this.client.logs(this.submissionId), false);
  }

  /** For a terminal job: the rest of the log, including a last line without a newline. */
  async readFinal(): Promise<LogChunk> {
    return this.take(await this.client.logs(this.submissionId), true);
  }

  private take(text: string, final: boolean): LogChunk {
    const restarted = text.length < this.consumed;
    if (restarted) this.consumed = 0;
    const end = final ? text.length : text.lastIndexOf('\n') + 1;
    if (end <= this.consumed) return { lines: [], offset: this.consumed, restarted };
    const fresh = text.slice(this.consumed, end);
    this.consumed = end;
    const lines = fresh.split('\n');
    if (lines.at(-1) === '') lines.pop();
    return { lines: lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)), offset: this.consumed, restarted };
  }
}
