/**
 * Streaming sessions of a deployment (issue 13 §6; docs/serving-sessions.md):
 *   POST   /api/v1/deployments/{name}/sessions {client_id, routing_key?} → 201 the session
 *   GET    /api/v1/deployments/{name}/sessions/{id}   queue status (position, pending, done)
 *   DELETE /api/v1/deployments/{name}/sessions/{id}   ends it, frees its state
 *   WebSocket /api/v1/deployments/{name}/sessions/{id}/stream
 *
 * The stream (shared with seed 003's /wss/{id}): in, a binary frame (float32 LE values of one
 * chunk) or a text frame `{"inputs": …}`, or the text `EOF`; out, one JSON text per chunk in
 * the order they came, `{"seq", "outputs", "prediction"?}`, or `{"error": {code, message}}`
 * for a chunk that failed (the session and the socket go on). `EOF` waits for the chunks
 * before it, ends the session, answers `{"event": "eof", "chunks": n}` and closes 1000. A
 * session that ends otherwise (deleted, reaped) sends `{"event": "ended", "reason"}` and
 * closes 1000; an unknown session sends SESSION_NOT_FOUND and closes 4404. Closing the
 * socket without EOF keeps the session: a client may reconnect and go on.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { LakerayError } from '../../domain/errors.ts';
import { chunkAnswerText, decodeBinaryChunk, decodeJsonChunk } from '../../serving/sessions/chunk-codec.ts';
import type { SessionManager } from '../../serving/sessions.ts';
import { errorResponses, toApiError } from '../plugins/errors.ts';
import { callerOf } from '../caller.ts';
import { wsOnlyRoute } from '../ws-route.ts';

// With this many chunks of one connection unanswered the socket stops reading; below half, it reads again.
const MAX_UNANSWERED = 64;

export const sessionView = z.object({
  session_id: z.string(),
  deployment: z.string(),
  client_id: z.string(),
  routing_key: z.string().nullable(),
  gpu: z.string().nullable(),
  created_at: z.string(),
});

export const sessionStatus = sessionView.extend({
  status: z.literal('open'),
  position: z.number().int().nullable(),
  pending_chunks: z.number().int(),
  chunks_done: z.number().int(),
  last_activity: z.string(),
});

export const clientId = z.string().min(1).max(200);
export const routingKey = z.string().min(1).max(200);

/**
 * Serves one WebSocket as the stream of the tenant's session `id` (see the header); with
 * `deployment`, only if the session is on it. The tenant is the upgrade request's caller (a
 * browser sends its key as `?access_token=`): another tenant's session is SESSION_NOT_FOUND.
 */
export function streamSession(socket: WebSocket, sessions: SessionManager, tenant: string, id: string, deployment?: string): void {
  const send = (msg: unknown) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
  };
  const sendText = (text: unknown) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(text as string);
  };
  const sendError = (err: unknown) => {
    const e = toApiError(err);
    send({ error: { code: e.code, message: e.message } });
  };
  if (!sessions.has(tenant, id, deployment)) {
    sendError(new LakerayError('SESSION_NOT_FOUND', `no session "${id}" (it ended, was deleted or was reaped when idle)`));
    socket.close(4404, 'no such session');
    return;
  }
  // Answers leave in the order their frames came: each waits, settled, until the ones before it
  // left (a queue of slots, not a promise chain per frame: one promise per chunk).
  const slots: Slot[] = [];
  let unanswered = 0;
  let paused = false;
  let eof = false;
  const flush = () => {
    while (slots.length > 0 && slots[0]!.ready) {
      const slot = slots.shift()!;
      slot.deliver();
      if (!slot.counted) continue;
      unanswered--;
      if (paused && unanswered < MAX_UNANSWERED / 2) {
        paused = false;
        socket.resume();
      }
    }
  };
  const after = (work: Promise<unknown>, deliver: (v: unknown) => void) => {
    unanswered++;
    if (unanswered >= MAX_UNANSWERED && !paused) {
      paused = true;
      socket.pause();
    }
    const slot: Slot = { ready: false, counted: true, deliver: noop };
    slots.push(slot);
    // Settled now (a failed chunk is not an unhandled rejection while it waits its turn), delivered in turn.
    work.then(
      (value) => {
        slot.deliver = () => deliver(value);
        slot.ready = true;
        flush();
      },
      (err: unknown) => {
        slot.deliver = () => sendError(err);
        slot.ready = true;
        flush();
      },
    );
  };
  const unsubscribe = sessions.onEnd(id, (reason) => {
    if (eof) return;
    slots.push({
      ready: true,
      counted: false,
      deliver: () => {
        send({ event: 'ended', reason });
        socket.close(1000, `session ended (${reason})`);
      },
    });
    // Not from inside the manager's end(): after it returned, as the answers before it.
    queueMicrotask(flush);
  });
  socket.on('close', () => unsubscribe());
  socket.on('message', (data, isBinary) => {
    if (eof) return; // nothing after EOF counts
    // A Buffer (ws's default binaryType) is used as is: Buffer.from would copy every chunk.
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (!isBinary && bytes.toString('utf8').trim() === 'EOF') {
      eof = true;
      unsubscribe();
      // Ended after the chunks before it were answered (they are ahead of it in the queue).
      after(Promise.resolve(), () => {
        try {
          send({ event: 'eof', chunks: sessions.delete(tenant, id) });
        } catch (err) {
          sendError(err);
        }
        socket.close(1000, 'EOF');
      });
      return;
    }
    let answer: Promise<string>;
    try {
      const inputs = isBinary ? decodeBinaryChunk(sessions.chunkInputs(id), bytes) : textChunk(sessions.chunkInputs(id), bytes);
      answer = sessions.chunk(id, inputs).then(({ seq, outputs }) => chunkAnswerText(seq, outputs));
    } catch (err) {
      answer = Promise.reject(err);
    }
    after(answer, sendText);
  });
}

/** One frame's place in a stream's answer order: `deliver` once `ready` and every slot before it left. */
interface Slot {
  ready: boolean;
  /** Counts as an unanswered frame (the backpressure); an "ended" notice does not. */
  counted: boolean;
  deliver: () => void;
}

const noop = () => {};

/** A text frame's chunk: JSON {"inputs": …}. */
function textChunk(specs: Parameters<typeof decodeJsonChunk>[0], bytes: Buffer) {
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new LakerayError('INVALID_TENSOR', 'a text frame is JSON {"inputs": …} or EOF');
  }
  return decodeJsonChunk(specs, body);
}

export interface SessionRoutesOptions {
  sessions: SessionManager;
}

const params = z.object({ name: z.string().min(1).max(200) });
const sessionParams = params.extend({ id: z.string().min(1).max(200) });

export const sessionRoutes: FastifyPluginAsyncZod<SessionRoutesOptions> = async (app, { sessions }) => {
  /** The caller's session, if it belongs to that deployment (another deployment's or tenant's session is unknown here). */
  const ofDeployment = (tenant: string, name: string, id: string): void => {
    if (!sessions.has(tenant, id, name))
      throw new LakerayError('SESSION_NOT_FOUND', `deployment "${name}" has no session "${id}"`);
  };

  app.post(
    '/api/v1/deployments/:name/sessions',
    {
      schema: {
        tags: ['deployments'],
        summary: 'Open a streaming session',
        params,
        body: z.object({ client_id: clientId, routing_key: routingKey.nullable().optional() }).strict(),
        response: { 201: sessionView, ...errorResponses(400, 404, 429) },
      },
    },
    async (request, reply) => {
      const view = sessions.create(callerOf(request).tenant, request.params.name, request.body.client_id, request.body.routing_key);
      return reply.code(201).send(view);
    },
  );

  app.get(
    '/api/v1/deployments/:name/sessions/:id',
    { schema: { tags: ['deployments'], summary: "A session's queue status", params: sessionParams, response: { 200: sessionStatus, ...errorResponses(404) } } },
    async (request) => {
      const { tenant } = callerOf(request);
      ofDeployment(tenant, request.params.name, request.params.id);
      return sessions.status(tenant, request.params.id);
    },
  );

  app.delete(
    '/api/v1/deployments/:name/sessions/:id',
    {
      schema: {
        tags: ['deployments'],
        summary: 'End a session and free its state',
        params: sessionParams,
        response: { 200: z.object({ session_id: z.string(), chunks: z.number().int() }), ...errorResponses(404) },
      },
    },
    async (request) => {
      const { tenant } = callerOf(request);
      ofDeployment(tenant, request.params.name, request.params.id);
      return { session_id: request.params.id, chunks: sessions.delete(tenant, request.params.id) };
    },
  );

  wsOnlyRoute(app, '/api/v1/deployments/:name/sessions/:id/stream', (socket, request) => {
    const { name, id } = request.params as { name: string; id: string };
    streamSession(socket, sessions, callerOf(request).tenant, id, name);
  });
};
