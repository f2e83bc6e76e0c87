/**
 * The hub of reports from anywhere: a task on another machine (a Ray job, a Kubernetes pod)
 * POSTs its protocol messages to /api/v1/tasks/{id}/reports, and the executor that runs the
 * task receives them here, exactly as the local executor reads them from fd 3.
 *
 *   executor:  open(taskId, attempt, sink) when it runs or re-attaches a task → close() when done
 *   route:     receive(taskId, bearer, {attempt, messages:[{seq, …message}]}) → {acked}
 *
 * Delivery: the harness numbers its messages (seq 1, 2, …) and sends them in batches until a
 * batch is acked; it resends on any failure, so a batch may arrive twice. Each channel keeps
 * the highest seq it stored: messages at or below it are skipped (a retry is harmless), the
 * others go to the sink in seq order, and the answer acks the highest seq stored — only once
 * the sink took them and the engine's event writer stored what they produced (`stored`).
 * Batches of one channel are handled one after another, never interleaved.
 *
 * Answers: 401 when the token is missing, foreign, or for another task or attempt; 404 when
 * the task does not exist; 409 STALE_ATTEMPT when the attempt is over (the task ended or runs
 * again): the harness stops; 503 REPORTS_NOT_OPEN when the task runs but nobody has opened
 * its channel (after a restart, before its executor re-attached): the harness retries.
 *
 * The channel's acked seq lives in memory: after a server restart a re-opened channel starts
 * at 0, so messages stored before the restart but not yet acked come again (at least once).
 */
import { LakerayError } from '../domain/errors.ts';
import type { TaskStatus } from '../domain/task.ts';
import { decodeHarnessMessage, type HarnessMessage } from '../runtime/protocol.ts';
import type { TaskTokens } from './task-tokens.ts';

/** Where a task's reports go: the executor's handler of protocol messages (its TaskRun, say). */
export type ReportSink = (message: HarnessMessage) => void | Promise<void>;

export interface ReportBatch {
  attempt: number;
  /** Protocol messages as the harness writes them on fd 3, each with its seq. */
  messages: readonly ({ seq: number } & Record<string, unknown>)[];
}

export interface RemoteReportsDeps {
  tokens: TaskTokens;
  /** The task's status and current attempt as the store has them now, or null. */
  task(id: string): Promise<{ status: TaskStatus; attempt: number } | null>;
  /** Resolves once the events the sinks produced so far are stored (EventWriter.flush). */
  stored?(): Promise<void>;
}

interface Channel {
  attempt: number;
  sink: ReportSink;
  acked: number;
  /** The batch being handled: the next one waits for it. */
  turn: Promise<unknown>;
}

/** Seconds a harness waits before it asks again when no channel is open. */
export const REPORTS_RETRY_AFTER_S = 1;

export class RemoteReports {
  private readonly channels = new Map<string, Channel>();

  constructor(private readonly deps: RemoteReportsDeps) {}

  /**
   * Follow the task's reports: its messages go to `sink` from now on. Opening again (the
   * executor re-attached) replaces the earlier channel. close() stops, and does nothing
   * once another open replaced this one.
   */
  open(taskId: string, attempt: number, sink: ReportSink): { close(): void } {
    const channel: Channel = { attempt, sink, acked: 0, turn: Promise.resolve() };
    this.channels.set(taskId, channel);
    return {
      close: () => {
        if (this.channels.get(taskId) === channel) this.channels.delete(taskId);
      },
    };
  }

  isOpen(taskId: string): boolean {
    return this.channels.has(taskId);
  }

  /**
   * Who may write for this task: the claims of its bearer token, checked against the task and
   * its current attempt. Also used by the routes that take a task's files.
   */
  async authorize(taskId: string, authorization: string | undefined, attempt?: number): Promise<{ attempt: number }> {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    const claims = token === undefined ? null : this.deps.tokens.verify(token);
    if (claims === null || claims.taskId !== taskId || (attempt !== undefined && claims.attempt !== attempt)) {
      throw new LakerayError('UNAUTHORIZED', `A task token of task '${taskId}'${attempt === undefined ? '' : ` attempt ${attempt}`} is required (Authorization: Bearer $LAKERAY_TASK_TOKEN)`);
    }
    const task = await this.deps.task(taskId);
    if (task === null) throw new LakerayError('TASK_NOT_FOUND', `Task '${taskId}' does not exist`);
    const live = task.status === 'running' || task.status === 'cancelling';
    if (!live || task.attempt !== claims.attempt) {
      const now = live ? `runs attempt ${task.attempt}` : `is ${task.status}`;
      throw new LakerayError('STALE_ATTEMPT', `Task '${taskId}' ${now}; attempt ${claims.attempt} is over`);
    }
    return { attempt: claims.attempt };
  }

  /** A batch POSTed by the task's harness; resolves with the highest seq stored. */
  async receive(taskId: string, authorization: string | undefined, batch: ReportBatch): Promise<{ acked: number }> {
    const messages = batch.messages.map((m, i) => {
      const { seq, ...rest } = m;
      const msg = decodeHarnessMessage(rest);
      if (msg === null) throw new LakerayError('INVALID_REQUEST', `messages[${i}] is not a protocol message (an object with a string "type")`);
      // A harness reports for its own task only, whatever it wrote.
      if ('task_id' in msg) (msg as { task_id: string }).task_id = taskId;
      return { seq, msg };
    });
    for (let i = 1; i < messages.length; i++) {
      if ((messages[i] as { seq: number }).seq <= (messages[i - 1] as { seq: number }).seq) {
        throw new LakerayError('INVALID_REQUEST', `messages[${i}].seq must be greater than the seq before it`);
      }
    }
    await this.authorize(taskId, authorization, batch.attempt);
    const channel = this.channels.get(taskId);
    if (channel === undefined || channel.attempt !== batch.attempt) {
      throw new LakerayError('REPORTS_NOT_OPEN', `Nobody follows the reports of task '${taskId}' yet; retry in ${REPORTS_RETRY_AFTER_S} s`);
    }
    const turn = channel.turn.then(() => this.deliver(channel, messages));
    channel.turn = turn.catch(() => {});
    return { acked: await turn };
  }

  private async deliver(channel: Channel, messages: readonly { seq: number; msg: HarnessMessage }[]): Promise<number> {
    let last = channel.acked;
    const pending: Promise<void>[] = [];
    for (const { seq, msg } of messages) {
      if (seq <= last) continue; // sent before, stored already
      const done = channel.sink(msg);
      if (done !== undefined) pending.push(done);
      last = seq;
    }
    await Promise.all(pending);
    await this.deps.stored?.();
    channel.acked = last;
    return last;
  }
}
