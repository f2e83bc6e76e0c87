/**
 * A local replica (a service task running runtimes/serving/lakeray-onnx-replica.mjs) as the
 * gateway's `Replica`: batches go as one /infer frame over a keep-alive undici Pool.
 *
 * Failures map to what the gateway may do next (types.ts ReplicaFailure):
 *   400 → 'rejected' (the model refused the inputs; the message is the replica's)
 *   any other non-200 or an unreadable answer → 'internal'
 *   no connection, a reset, or a socket closed mid-answer → 'lost' (the process is gone)
 * An aborted `signal` rejects with its reason: the caller gave up, the replica did not fail.
 */
import { Pool } from 'undici';
import { decodeFrame, encodeFrame } from '../../../runtimes/serving/protocol.mjs';
import { ReplicaError, type ModelSignature, type Replica, type ReplicaState, type TensorMap } from '../types.ts';

export const FRAME_CONTENT_TYPE = 'application/vnd.lakeray.frame';

export interface ReplicaClientOptions {
  id: string;
  /** The service's base URL, e.g. http://127.0.0.1:41234 (the task's service endpoint). */
  url: string;
  /** GPU ids the scheduler gave the replica's task. */
  gpus?: readonly string[];
  /** Sockets to the replica; it runs one session.run at a time, so a few cover pipelining of batches. */
  connections?: number;
}

/** The replica's `{"error": {"message"}}`, else the raw text. */
const errorMessage = (status: number, text: string): string => {
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON: the text itself says what happened
  }
  return `the replica answered ${status}: ${text.slice(0, 500)}`;
};

export class ReplicaClient implements Replica {
  readonly id: string;
  readonly gpus: readonly string[];
  /** Set by the deployment manager: ready once added to the gateway, draining while it stops. */
  state: ReplicaState = 'ready';
  private readonly pool: Pool;

  constructor(opts: ReplicaClientOptions) {
    this.id = opts.id;
    this.gpus = opts.gpus ?? [];
    // The replica keeps idle sockets 65 s; closing ours well before avoids writing to a socket
    // the server is closing (that would look like a lost replica).
    this.pool = new Pool(opts.url, { connections: opts.connections ?? 4, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 30_000 });
  }

  /** No GPU probe on the local backend yet: the router falls back to least_loaded. */
  gpuFreeBytes(): number | null {
    return null;
  }

  async infer(inputs: TensorMap, signal?: AbortSignal): Promise<TensorMap> {
    const body = await this.call('POST', '/infer', signal, encodeFrame(inputs, 'inputs'));
    try {
      return decodeFrame(body);
    } catch (err) {
      throw new ReplicaError('internal', `replica ${this.id} sent an unreadable answer: ${(err as Error).message}`);
    }
  }

  async signature(signal?: AbortSignal): Promise<ModelSignature> {
    const body = await this.call('GET', '/signature', signal);
    return JSON.parse(body.toString('utf8')) as ModelSignature;
  }

  /** Drop the sockets (the replica's task is stopping or gone). */
  async close(): Promise<void> {
    await this.pool.destroy();
  }

  private async call(method: 'GET' | 'POST', path: string, signal?: AbortSignal, body?: Buffer): Promise<Buffer> {
    let status: number;
    let bytes: Buffer;
    try {
      const res = await this.pool.request({
        method,
        path,
        body: body ?? null,
        headers: body === undefined ? {} : { 'content-type': FRAME_CONTENT_TYPE },
        signal: signal ?? null,
      });
      status = res.statusCode;
      bytes = Buffer.from(await res.body.arrayBuffer());
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new ReplicaError('lost', `replica ${this.id} is unreachable: ${(err as Error).message}`);
    }
    if (status === 200) return bytes;
    const message = errorMessage(status, bytes.toString('utf8'));
    throw new ReplicaError(status === 400 ? 'rejected' : 'internal', message);
  }
}
