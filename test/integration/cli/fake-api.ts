/**
 * A tiny in-memory implementation of the task API contract (node:http on 127.0.0.1:0) for
 * CLI tests. Events are replayed from a per-task script; `dropOnce` makes the first event
 * stream die mid-message after N events, so tests can prove Last-Event-ID resume. It honours
 * only the Last-Event-ID header (not ?after=) for the same reason.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TaskEventJson, TaskJson } from '../../../src/cli/client.ts';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface FakeTask {
  task: TaskJson;
  events: Omit<TaskEventJson, 'task_id' | 'tenant'>[];
  logs?: { seq: number; ts: string; stream: string; message: string }[];
  /** First stream: send this many events, then half of the next one, then destroy the socket. */
  dropOnce?: number;
  /** Fields the first GET returns instead (the task as it was before it ran). */
  before?: Partial<TaskJson>;
  /** Keep the stream open after the last scripted event (a task that never ends). */
  hang?: boolean;
}

export const iso = (ms: number) => new Date(ms).toISOString();

export function makeTask(over: Partial<TaskJson> = {}): TaskJson {
  return {
    id: 'tsk_1', name: 'demo', script: 'demo.py', input: null, output: null, params: {}, executor: 'local',
    pool: null, resources: {}, priority: 0, timeout_s: null, status: 'pending', attempt: 0,
    created_at: iso(Date.now() - 5000), started_at: null, finished_at: null, completed_at: null, progress: null, result: null,
    error: null, queue_position: 0, tenant: 'default', labels: {}, ...over,
  };
}

export class FakeApi {
  readonly requests: RecordedRequest[] = [];
  readonly tasks = new Map<string, FakeTask>();
  /** Page size for GET /tasks when the client sends no limit. */
  pageSize = 50;
  /** GET /api/v1/datasets: served two per page whatever the client asks, linked with Link rel="next". */
  datasets: Record<string, unknown>[] = [];
  private server: Server = createServer((req, res) => void this.handle(req, res));
  url = '';

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  add(t: FakeTask): FakeTask {
    this.tasks.set(t.task.id, t);
    return t;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const body = raw ? JSON.parse(raw) : undefined;
    this.requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    const url = new URL(req.url!, 'http://x');
    const parts = url.pathname.split('/').filter(Boolean); // api v1 tasks :id :sub
    const send = (status: number, doc?: unknown) => {
      res.writeHead(status, doc === undefined ? {} : { 'content-type': 'application/json' });
      res.end(doc === undefined ? undefined : JSON.stringify(doc));
    };
    const fail = (status: number, code: string, message: string) => send(status, { error: { code, message } });
    if (url.pathname === '/api/v1/datasets') {
      const offset = Number(url.searchParams.get('offset') ?? 0);
      if (offset + 2 < this.datasets.length) res.setHeader('link', `</api/v1/datasets?offset=${offset + 2}&limit=2>; rel="next"`);
      return send(200, this.datasets.slice(offset, offset + 2));
    }
    if (parts.slice(0, 3).join('/') !== 'api/v1/tasks') return fail(404, 'ROUTE_NOT_FOUND', 'No such route');
    const id = parts[3];
    if (!id) {
      if (req.method === 'POST') {
        if (body.script === 'bad.py') return fail(400, 'INVALID_REQUEST', 'script: not allowed');
        const task = makeTask({ id: `tsk_${this.tasks.size + 1}`, name: body.name ?? body.script, script: body.script, params: body.params ?? {} });
        this.add({ task, events: [] });
        return send(201, task);
      }
      const status = url.searchParams.get('status')?.split(',');
      const all = [...this.tasks.values()].map((t) => t.task).filter((t) => !status || status.includes(t.status));
      const start = Number(url.searchParams.get('cursor') ?? 0);
      const limit = Number(url.searchParams.get('limit') ?? this.pageSize);
      const page = all.slice(start, start + limit);
      return send(200, { tasks: page, next_cursor: start + limit < all.length ? String(start + limit) : null });
    }
    const t = this.tasks.get(id);
    if (!t) return fail(404, 'TASK_NOT_FOUND', `Task ${id} does not exist`);
    const sub = parts[4];
    if (!sub && req.method === 'GET') {
      const before = t.before;
      t.before = undefined;
      return send(200, { ...t.task, ...before });
    }
    if (!sub && req.method === 'DELETE') {
      if (['pending', 'running', 'cancelling'].includes(t.task.status)) return fail(409, 'TASK_ACTIVE', 'Task is still queued or running; cancel it first');
      this.tasks.delete(id);
      return send(204);
    }
    if (sub === 'cancel' && req.method === 'POST') {
      t.task = { ...t.task, status: t.task.status === 'running' ? 'cancelling' : 'cancelled' };
      return send(200, t.task);
    }
    if (sub === 'logs') {
      const after = Number(url.searchParams.get('after') ?? 0);
      const lines = (t.logs ?? []).filter((l) => l.seq > after).slice(0, 2); // small pages exercise paging
      return send(200, { lines, next_seq: lines.length ? lines.at(-1)!.seq + 1 : after + 1 });
    }
    if (sub === 'events') return this.stream(t, req, res);
    return fail(404, 'ROUTE_NOT_FOUND', 'No such route');
  }

  private async stream(t: FakeTask, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const last = Number(req.headers['last-event-id'] ?? 0);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(': hello\n\n');
    const drop = t.dropOnce;
    t.dropOnce = undefined;
    let sent = 0;
    for (const e of t.events.filter((x) => x.seq > last)) {
      await new Promise((r) => setTimeout(r, 2));
      const frame = `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify({ task_id: t.task.id, tenant: 'default', ...e })}\n\n`;
      if (drop !== undefined && sent === drop) {
        res.write(frame.slice(0, frame.length - 10)); // half a message, then the connection dies
        await new Promise((r) => setTimeout(r, 5));
        req.socket.destroy();
        return;
      }
      res.write(frame);
      sent++;
    }
    if (!t.hang) res.end();
  }
}

/** A writable that remembers what was written; `isTTY`/`columns` as a terminal would report. */
export class Sink {
  text = '';
  constructor(
    readonly isTTY = false,
    readonly columns = 80,
  ) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}
