/**
 * Streaming sessions (issue 13 §6, seed 003): a client opens a session on a deployment, sends
 * its input in chunks, and gets each chunk's outputs in order. The model declares state
 * inputs fed from state outputs (StateBinding: a GRU's h0 ← hn); this manager keeps each
 * session's state between chunks, in the gateway's process, so a session does not depend on
 * any replica: a replica drained or killed between two chunks loses nothing, and the next
 * chunk runs wherever the gateway sends it.
 *
 * Per session, chunk n+1 needs chunk n's state, so a session's chunks run one after another
 * (a promise chain here; `chain = session id` at the gateway too, which also reports the
 * session's queue position). Chunks of different sessions are independent requests: the
 * gateway batches them together.
 *
 * A session ends on delete, on EOF (the stream route deletes it) or when reaped: no chunk, no
 * status read and nothing pending for `idleTimeoutMs`. Ending frees its state; chunks still
 * waiting fail SESSION_NOT_FOUND.
 */
import { randomUUID } from 'node:crypto';
import { LakerayError } from '../domain/errors.ts';
import { chunkPlan, chunkRows, initialState, splitOutputs, type ChunkPlan } from './sessions/state.ts';
import type { ModelSignature, StateBinding, TensorMap, TensorSpec } from './types.ts';

/** The part of a deployment's Gateway a session needs (gateway.ts satisfies it). */
export interface SessionGateway {
  submit(req: { inputs: TensorMap; rows: number; chain?: string; deadline?: number; gpu?: string }): Promise<TensorMap>;
  chainStatus(chain: string): { position: number | null; pending: number };
  /** The session ended: the gateway stops expecting its next chunk. */
  endChain?(chain: string): void;
}

/**
 * What the sessions need of the deployment manager (deployments.ts implements it). A
 * deployment is named within its tenant: another tenant's deployment of that name is not there.
 */
export interface SessionHost {
  /** The deployment's gateway; undefined when the tenant has no deployment of that name. */
  gateway(tenant: string, deployment: string): SessionGateway | undefined;
  /** Its model's inputs and outputs; undefined while not known yet. */
  signature(tenant: string, deployment: string): ModelSignature | undefined;
  /** Its state bindings (the deployment's `state`, else the model's params.serving.state). */
  stateBindings(tenant: string, deployment: string): readonly StateBinding[];
  /**
   * Its routing table (seed 003's gpu_language_map, key → target): a target that names a
   * deployment of the same tenant sends the session there; any other target is a GPU id,
   * recorded on the session.
   */
  routing(tenant: string, deployment: string): Readonly<Record<string, string>>;
}

export interface SessionManagerOptions {
  host: SessionHost;
  /** Most open sessions (default 4096); beyond it creation is 429 TOO_MANY_SESSIONS. */
  maxSessions?: number;
  /** Most chunks of one session waiting or running (default 1024); beyond it 429 QUEUE_FULL. */
  maxPendingChunks?: number;
  /** A session with no activity this long is reaped (default 300 s). */
  idleTimeoutMs?: number;
  /** How often idle sessions are looked for (default min(idle / 4, 5 s)); 0: never (call reapIdle()). */
  reapEveryMs?: number;
  now?: () => number;
}

export interface SessionView {
  session_id: string;
  deployment: string;
  client_id: string;
  routing_key: string | null;
  /** The GPU its routing key maps to, when the routing table maps it to one. */
  gpu: string | null;
  created_at: string;
}

export interface SessionStatus extends SessionView {
  status: 'open';
  /** Its first waiting chunk's place in the deployment's queue (0 = next); null when none waits there. */
  position: number | null;
  pending_chunks: number;
  chunks_done: number;
  last_activity: string;
}

export interface ChunkResult {
  /** 1-based number of the chunk in the session (every chunk received counts, failed ones too). */
  seq: number;
  /** The model's outputs without the state outputs. */
  outputs: TensorMap;
}

export type EndReason = 'deleted' | 'idle' | 'deployment_gone';

interface QueuedChunk {
  inputs: TensorMap;
  seq: number;
  resolve: (r: ChunkResult) => void;
  reject: (err: unknown) => void;
}

interface Session extends SessionView {
  /** The tenant that opened it: to any other tenant the session does not exist. */
  tenant: string;
  state: TensorMap | null;
  received: number;
  done: number;
  pending: number;
  lastActivity: number;
  /** Its chunks not started yet, in order; `running` while one is at the gateway. */
  queue: QueuedChunk[];
  running: boolean;
  /** The chunk inputs of its model, kept while the deployment's signature and bindings stay the same objects. */
  plan: ChunkPlan | null;
  ended: EndReason | null;
  listeners: Set<(reason: EndReason) => void>;
}

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private readonly host: SessionHost;
  private readonly maxSessions: number;
  private readonly maxPending: number;
  private readonly idleMs: number;
  private readonly now: () => number;
  private readonly reaper: NodeJS.Timeout | undefined;

  constructor(opts: SessionManagerOptions) {
    this.host = opts.host;
    this.maxSessions = opts.maxSessions ?? 4096;
    this.maxPending = opts.maxPendingChunks ?? 1024;
    this.idleMs = opts.idleTimeoutMs ?? 300_000;
    this.now = opts.now ?? Date.now;
    const every = opts.reapEveryMs ?? Math.min(this.idleMs / 4, 5000);
    if (every > 0) {
      this.reaper = setInterval(() => this.reapIdle(), every);
      this.reaper.unref();
    }
  }

  get size(): number {
    return this.sessions.size;
  }

  get limit(): number {
    return this.maxSessions;
  }

  create(tenant: string, deployment: string, clientId: string, routingKey?: string | null): SessionView {
    if (!this.host.gateway(tenant, deployment)) throw new LakerayError('DEPLOYMENT_NOT_FOUND', `no deployment named "${deployment}"`);
    let target = deployment;
    let gpu: string | null = null;
    if (routingKey != null) {
      const table = this.host.routing(tenant, deployment);
      const known = Object.keys(table);
      // No table: nothing to route by; the key is only recorded.
      if (known.length > 0) {
        const to = Object.hasOwn(table, routingKey) ? table[routingKey] : undefined;
        if (to === undefined)
          throw new LakerayError('INVALID_REQUEST', `routing_key "${routingKey}" is not in the routing table of "${deployment}" (known: ${known.map((k) => `"${k}"`).join(', ')})`);
        if (this.host.gateway(tenant, to)) target = to;
        else gpu = to;
      }
    }
    if (this.sessions.size >= this.maxSessions)
      throw new LakerayError('TOO_MANY_SESSIONS', `${this.maxSessions} sessions are open; delete one or wait for idle ones to be reaped`);
    const now = this.now();
    const s: Session = {
      tenant,
      session_id: randomUUID(),
      deployment: target,
      client_id: clientId,
      routing_key: routingKey ?? null,
      gpu,
      created_at: new Date(now).toISOString(),
      state: null,
      received: 0,
      done: 0,
      pending: 0,
      lastActivity: now,
      queue: [],
      running: false,
      plan: null,
      ended: null,
      listeners: new Set(),
    };
    this.sessions.set(s.session_id, s);
    return view(s);
  }

  /** The session's queue status; reading it counts as activity. */
  status(tenant: string, id: string): SessionStatus {
    const s = this.must(tenant, id);
    s.lastActivity = this.now();
    const chain = this.host.gateway(s.tenant, s.deployment)?.chainStatus(id) ?? { position: null, pending: 0 };
    return {
      ...view(s),
      status: 'open',
      position: chain.position,
      pending_chunks: s.pending,
      chunks_done: s.done,
      last_activity: new Date(s.lastActivity).toISOString(),
    };
  }

  /** Whether the tenant has the session (on that deployment, if given), without counting as activity. */
  has(tenant: string, id: string, deployment?: string): boolean {
    const s = this.sessions.get(id);
    return s !== undefined && s.tenant === tenant && (deployment === undefined || s.deployment === deployment);
  }

  list(tenant: string, deployment?: string): SessionView[] {
    return [...this.sessions.values()].filter((s) => s.tenant === tenant && (deployment === undefined || s.deployment === deployment)).map(view);
  }

  /**
   * The inputs each chunk of the session carries (to decode its frames): the model's inputs but
   * the state. By id alone, as chunk() and onEnd(): the stream checked the tenant when it opened.
   */
  chunkInputs(id: string): readonly TensorSpec[] {
    return this.planOf(this.mustExist(id)).specs;
  }

  /** The session's chunk plan, made again when its deployment's signature or bindings changed. */
  private planOf(s: Session): ChunkPlan {
    const signature = this.host.signature(s.tenant, s.deployment);
    if (!signature) throw new LakerayError('REPLICA_UNAVAILABLE', `deployment "${s.deployment}" has not reported its model's signature yet`);
    const bindings = this.host.stateBindings(s.tenant, s.deployment);
    if (s.plan?.signature !== signature || s.plan.bindings !== bindings) s.plan = chunkPlan(signature, bindings);
    return s.plan;
  }

  /** Ends the tenant's session and frees its state; returns how many chunks it answered. */
  delete(tenant: string, id: string, reason: EndReason = 'deleted'): number {
    const s = this.must(tenant, id);
    this.end(s, reason);
    return s.done;
  }

  /** Called with the reason when the session ends (delete, EOF, reaped); returns the unsubscribe. */
  onEnd(id: string, listener: (reason: EndReason) => void): () => void {
    const s = this.mustExist(id);
    s.listeners.add(listener);
    return () => s.listeners.delete(listener);
  }

  /**
   * Runs one chunk after the session's earlier chunks: its inputs plus the carried state go to
   * the gateway, the state outputs become the next state, the rest is returned. A chunk that
   * fails (bad tensor, model error, timeout) leaves the state as it was: the session goes on.
   */
  chunk(id: string, inputs: TensorMap): Promise<ChunkResult> {
    const s = this.sessions.get(id);
    if (!s) return Promise.reject(notFound(id));
    if (s.pending >= this.maxPending)
      return Promise.reject(new LakerayError('QUEUE_FULL', `session ${id} already has ${s.pending} chunks waiting; wait for their answers`));
    const seq = ++s.received;
    s.pending++;
    s.lastActivity = this.now();
    // A queue, not a promise chain per chunk: a streaming session's chunks cost one promise each.
    return new Promise<ChunkResult>((resolve, reject) => {
      s.queue.push({ inputs, seq, resolve, reject });
      if (!s.running) this.next(s);
    });
  }

  /** Starts the session's next queued chunk, if any; its end starts the one after. */
  private next(s: Session): void {
    const job = s.queue.shift();
    if (!job) {
      s.running = false;
      return;
    }
    s.running = true;
    let run: Promise<TensorMap>;
    try {
      run = this.run(s, job.inputs);
    } catch (err) {
      run = Promise.reject(err);
    }
    // Anonymous callbacks and a method, no named local function: under tsx (keepNames) each
    // of those costs an Object.defineProperty per chunk.
    run.then(
      (outputs) => this.settle(s, job, false, outputs),
      (err: unknown) => this.settle(s, job, true, err),
    );
  }

  private settle(s: Session, job: QueuedChunk, fail: boolean, value: unknown): void {
    s.pending--;
    s.lastActivity = this.now();
    if (fail) job.reject(value);
    else job.resolve({ seq: job.seq, outputs: value as TensorMap });
    this.next(s);
  }

  /** Sends one chunk with the carried state; throws at once what is wrong before the gateway. */
  private run(s: Session, inputs: TensorMap): Promise<TensorMap> {
    if (s.ended) throw new LakerayError('SESSION_NOT_FOUND', `session ${s.session_id} ended (${s.ended}) before this chunk ran`);
    const gateway = this.host.gateway(s.tenant, s.deployment);
    if (!gateway) {
      this.end(s, 'deployment_gone');
      throw new LakerayError('DEPLOYMENT_NOT_FOUND', `deployment "${s.deployment}" of session ${s.session_id} is gone`);
    }
    const plan = this.planOf(s);
    const rows = chunkRows(plan, inputs);
    let state = s.state;
    if (state) {
      const stateRows = Object.values(state)[0]?.shape[0];
      if (stateRows !== undefined && stateRows !== rows)
        throw new LakerayError('INVALID_TENSOR', `this session's state has ${stateRows} rows (set by its first chunk); the chunk has ${rows}`);
    } else state = initialState(plan.signature, plan.bindings, rows);
    const all: TensorMap = Object.assign({}, inputs, state);
    return gateway.submit({ inputs: all, rows, chain: s.session_id, gpu: s.gpu ?? undefined }).then((outputs) => {
      const next = splitOutputs(plan.bindings, outputs, rows);
      // Deleted while the chunk ran: its state is freed, not revived.
      if (s.ended) throw new LakerayError('SESSION_NOT_FOUND', `session ${s.session_id} ended (${s.ended}) while this chunk ran`);
      s.state = next.state;
      s.done++;
      return next.visible;
    });
  }

  /** Ends the sessions idle past the timeout (none with chunks pending); returns their ids. */
  reapIdle(): string[] {
    const cutoff = this.now() - this.idleMs;
    const reaped: string[] = [];
    for (const s of this.sessions.values())
      if (s.pending === 0 && s.lastActivity <= cutoff) {
        this.end(s, 'idle');
        reaped.push(s.session_id);
      }
    return reaped;
  }

  /** A tenant's deployment was deleted: its sessions end (another tenant's deployment of that name keeps its own). */
  endDeployment(tenant: string, deployment: string): void {
    for (const s of this.sessions.values()) if (s.tenant === tenant && s.deployment === deployment) this.end(s, 'deployment_gone');
  }

  /** The state a session carries (tests and diagnostics); undefined once it ended. */
  stateOf(id: string): TensorMap | null | undefined {
    return this.sessions.get(id)?.state;
  }

  close(): void {
    clearInterval(this.reaper);
    for (const s of [...this.sessions.values()]) this.end(s, 'deleted');
  }

  /** The tenant's session; another tenant's is as unknown as one that never was. */
  private must(tenant: string, id: string): Session {
    const s = this.sessions.get(id);
    if (!s || s.tenant !== tenant) throw notFound(id);
    return s;
  }

  private mustExist(id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw notFound(id);
    return s;
  }

  private end(s: Session, reason: EndReason): void {
    if (s.ended) return;
    s.ended = reason;
    s.state = null;
    this.sessions.delete(s.session_id);
    this.host.gateway(s.tenant, s.deployment)?.endChain?.(s.session_id);
    for (const l of s.listeners) l(reason);
    s.listeners.clear();
  }
}

const notFound = (id: string) => new LakerayError('SESSION_NOT_FOUND', `no session "${id}" (it ended, was deleted or was reaped when idle)`);

const view = (s: Session): SessionView => ({
  session_id: s.session_id,
  deployment: s.deployment,
  client_id: s.client_id,
  routing_key: s.routing_key,
  gpu: s.gpu,
  created_at: s.created_at,
});
