/**
 * Lakeray's side of contract D's poll protocol and contract B's reports route, as a small HTTP
 * server for testing the Python driver (runtimes/python/lakeray/ray_driver.py) on a real Ray
 * head before the server's own routes exist. It is a test peer for the driver, not a stand-in
 * for Lakeray: it only records what the driver and its actors send, and answers polls with
 * the runs and cancels a test queues.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface DriverPoll {
  driver_id: string;
  running: string[];
  capacity: Record<string, number>;
  done: { task_id: string; attempt: number; error: { code: string; message: string } | null }[];
}
export interface Report { seq: number; type: string; [k: string]: unknown }
export interface RunItem { task_id: string; attempt: number; token: string; pool: string; package?: string; job: Record<string, unknown> }

export class DriverPeer {
  readonly polls: DriverPoll[] = [];
  readonly reports = new Map<string, Report[]>();
  /** when each task's run item left in a poll answer (performance.timeOrigin-based epoch ms) */
  readonly sentAt = new Map<string, number>();
  private runs: RunItem[] = [];
  private cancels: { task_id: string; grace_ms: number }[] = [];
  private waiting: ServerResponse | undefined;
  private waitTimer: NodeJS.Timeout | undefined;
  private server!: Server;
  url = '';

  constructor(
    private readonly executorToken: string,
    private readonly waitMs = 2_000,
  ) {}

  async listen(): Promise<string> {
    this.server = createServer((req, res) => void this.route(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const addr = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${addr.port}`;
    return this.url;
  }

  close(): Promise<void> {
    this.answer();
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  run(item: RunItem): void {
    this.runs.push(item);
    this.answer();
  }

  cancel(taskId: string, graceMs: number): void {
    this.cancels.push({ task_id: taskId, grace_ms: graceMs });
    this.answer();
  }

  lastPoll(): DriverPoll | undefined {
    return this.polls.at(-1);
  }

  doneOf(taskId: string): DriverPoll['done'][number] | undefined {
    for (const p of this.polls) {
      const d = p.done.find((x) => x.task_id === taskId);
      if (d) return d;
    }
    return undefined;
  }

  of(taskId: string, type: string): Report | undefined {
    return this.reports.get(taskId)?.find((m) => m.type === type);
  }

  private answer(): void {
    const res = this.waiting;
    if (!res) return;
    this.waiting = undefined;
    clearTimeout(this.waitTimer);
    const now = performance.timeOrigin + performance.now();
    for (const r of this.runs) this.sentAt.set(r.task_id, now);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ run: this.runs, cancel: this.cancels }));
    this.runs = [];
    this.cancels = [];
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const poll = /^\/api\/v1\/executors\/[^/]+\/driver\/poll$/.exec(req.url ?? '');
    const report = /^\/api\/v1\/tasks\/([^/]+)\/reports$/.exec(req.url ?? '');
    if (poll) {
      if (req.headers.authorization !== `Bearer ${this.executorToken}`) return void res.writeHead(401).end();
      this.polls.push(JSON.parse(raw) as DriverPoll);
      this.answer(); // a newer poll answers the older one at once
      this.waiting = res;
      if (this.runs.length || this.cancels.length) return this.answer();
      this.waitTimer = setTimeout(() => this.answer(), this.waitMs);
      return;
    }
    if (report) {
      const taskId = report[1]!;
      if (req.headers.authorization !== `Bearer token-${taskId}`) return void res.writeHead(401).end();
      const body = JSON.parse(raw) as { attempt: number; messages: Report[] };
      const list = this.reports.get(taskId) ?? [];
      const acked = list.at(-1)?.seq ?? 0;
      for (const m of body.messages) if (m.seq > acked) list.push(m);
      this.reports.set(taskId, list);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ acked: list.at(-1)?.seq ?? 0 }));
      return;
    }
    res.writeHead(404).end();
  }
}
