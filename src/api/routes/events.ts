/**
 * GET /api/v1/tasks/:id/events — one task's event log.
 *
 * With `Accept: text/event-stream` it is a Server-Sent Events stream: every event is
 *   id: <seq>\nevent: <type>\ndata: <the event as JSON>\n\n
 * It starts after `Last-Event-ID` (what EventSource sends when it reconnects) or `?after=`,
 * replays the stored events, continues live without gap or duplicate (see feed.ts), sends a
 * comment every 15 s so proxies keep the connection, and ends after the terminal `state`
 * event. A slow reader gets its progress events coalesced (outbox.ts). While the task is
 * queued, its queue position is sent when it changes (queue-watch.ts), without an id (it
 * is not part of the stored log, so it never moves Last-Event-ID):
 *   event: queue\ndata: {"type":"queue","task_id","position","ts"}\n\n
 *
 * Without that Accept header it returns one JSON page: `{events, next_seq}`.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LakerayError } from '../../domain/errors.ts';
import { EVENT_TYPES, type TaskEvent } from '../../domain/events.ts';
import type { Caller, TaskService } from '../../engine/task-service.ts';
import { callerOf } from '../caller.ts';
import { isTerminalState, TaskFollower } from '../feed.ts';
import { Outbox } from '../outbox.ts';
import { errorResponses } from '../plugins/errors.ts';
import type { QueueWatch } from '../queue-watch.ts';
import { eventPage } from '../serialize.ts';

export interface EventRoutesOptions {
  tasks: TaskService;
  heartbeatMs: number;
  queueWatch?: QueueWatch;
}

const typeList = z
  .string()
  .refine((s) => s.split(',').every((t) => (EVENT_TYPES as readonly string[]).includes(t)), {
    message: `expected a comma-separated list of ${EVENT_TYPES.join(', ')}`,
  })
  .describe('Only these event types (comma-separated)');

const query = z
  .object({
    after: z.coerce.number().int().min(0).optional().describe('Return events with seq > after (default 0)'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    types: typeList.optional(),
  })
  .strict();

const headers = z.looseObject({
  'last-event-id': z.string().regex(/^\d{1,15}$/, 'expected a sequence number').optional(),
});

// Beyond this many queued non-progress events the reader is disconnected; it resumes by seq.
const MAX_QUEUED = 10_000;

const frame = (ev: TaskEvent): string => `id: ${ev.seq}\nevent: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`;

export const eventRoutes: FastifyPluginAsyncZod<EventRoutesOptions> = async (app, { tasks, heartbeatMs, queueWatch }) => {
  // Open streams, so that closing the server ends them instead of waiting on them forever.
  const open = new Set<() => void>();
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    for (const finish of [...open]) finish();
  });

  app.get(
    '/api/v1/tasks/:id/events',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Event log: a JSON page, or a live SSE stream with Accept: text/event-stream',
        params: z.object({ id: z.string().min(1).max(200) }),
        querystring: query,
        headers,
        response: {
          200: {
            description: 'A page of events (JSON) or the event stream (SSE)',
            content: { 'application/json': { schema: eventPage }, 'text/event-stream': { schema: z.string() } },
          },
          ...errorResponses(400, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const { id } = request.params;
      const task = await tasks.get(caller, id); // 404 before anything is streamed
      const lastEventId = request.headers['last-event-id'];
      const after = lastEventId !== undefined ? Number(lastEventId) : (request.query.after ?? 0);

      // HEAD (which Fastify routes here too) must never turn into an endless stream.
      if (request.method === 'GET' && (request.headers.accept ?? '').includes('text/event-stream')) {
        // The server began closing while we awaited the task: a stream opened now would
        // never be ended (preClose already ran) and would hold app.close() forever.
        if (closing) throw new LakerayError('NOT_READY');
        // The client left while we awaited: its 'close' has fired already, nothing to follow.
        if (reply.raw.destroyed) return reply.hijack();
        reply.hijack();
        stream(reply.raw, { tasks, caller, taskId: task.id, after, heartbeatMs, open, queueWatch: task.status === 'pending' ? queueWatch : undefined });
        return reply;
      }
      const types = request.query.types?.split(',');
      const events = await tasks.events(caller, id, after, request.query.limit, types);
      return { events, next_seq: events.length > 0 ? (events[events.length - 1] as TaskEvent).seq : after };
    },
  );
};

interface StreamOptions {
  tasks: TaskService;
  caller: Caller;
  taskId: string;
  after: number;
  heartbeatMs: number;
  open: Set<() => void>;
  /** Set while the task is queued: its position is pushed as it changes. */
  queueWatch?: QueueWatch;
}

function stream(res: ServerResponse, o: StreamOptions): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no', // nginx: do not buffer the stream
  });
  res.write(': stream start\n\n');

  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    unwatch();
    clearInterval(heartbeat);
    follower.stop();
    outbox.close();
    o.open.delete(finish);
    if (!res.writableEnded) res.end();
  };

  const outbox = new Outbox<TaskEvent>(
    {
      writable: () => !res.writableNeedDrain && !res.destroyed,
      write: (ev) => {
        res.write(frame(ev));
        if (isTerminalState(ev)) finish();
      },
    },
    { keyOf: (ev) => (ev.type === 'progress' ? ev.task_id : null), maxQueued: MAX_QUEUED, onOverflow: finish },
  );
  const follower = new TaskFollower({
    tasks: o.tasks,
    caller: o.caller,
    taskId: o.taskId,
    after: o.after,
    emit: (ev) => {
      if (ev.type === 'state' && ev.data.status !== 'pending') unwatch();
      outbox.push(ev);
    },
    // Finished (or gone): end once what is queued has been written.
    onEnd: () => outbox.onceDrained(finish),
    flow: outbox,
  });

  let unwatch: () => void = () => {};
  if (o.queueWatch) {
    const stop = o.queueWatch.watch(o.taskId, (position) => {
      // Written only when nothing is queued before it (it is offered again otherwise).
      if (outbox.backedUp() || res.writableNeedDrain) return false;
      res.write(`event: queue\ndata: ${JSON.stringify({ type: 'queue', task_id: o.taskId, position, ts: Date.now() })}\n\n`);
    });
    unwatch = () => {
      stop();
      unwatch = () => {};
    };
  }
  const heartbeat = setInterval(() => {
    if (!outbox.backedUp()) res.write(': heartbeat\n\n');
  }, o.heartbeatMs);
  heartbeat.unref();

  res.on('drain', () => outbox.flush());
  res.on('close', finish);
  res.on('error', finish);
  o.open.add(finish);
  follower.start();
}
