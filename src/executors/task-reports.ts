/**
 * How an executor whose tasks run on another machine hears from them: the engine's hub of
 * reports over HTTP (src/engine/remote-reports.ts) as the executor sees it. Executors may not
 * depend on the engine, so they get this port, and main.ts hands them the hub.
 */
import type { HarnessMessage } from '../runtime/protocol.ts';

/** Where a task's messages go, in the order its harness wrote them; a promise delays the ack. */
export type TaskReportSink = (message: HarnessMessage) => void | Promise<void>;

export interface TaskReports {
  /** Follow one attempt's reports from now on (again after a restart); close() when the attempt is over. */
  open(taskId: string, attempt: number, sink: TaskReportSink): { close(): void };
}

/** What a task needs to report from elsewhere: where to, and its own token. */
export interface TaskReportAccess {
  reports: TaskReports;
  /** The platform's URL as the task's machine reaches it (LAKERAY_REPORT_URL). */
  url: string | (() => string | undefined);
  /** The task's token (LAKERAY_TASK_TOKEN), minted by the server's TaskTokens. */
  token(taskId: string, attempt: number): string;
}
