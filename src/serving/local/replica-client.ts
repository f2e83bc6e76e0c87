/**
 * A local replica (a service task running runtimes/serving/lakeray-onnx-replica.mjs) as the
 * gateway's `Replica`: batches go over the replica's frame channel (frame-channel.ts), one
 * message each way; the signature over plain HTTP. (A single row over HTTP /infer measured
 * 0.6–0.9 ms round trip against 0.2–0.3 ms over the channel: the gateway's overhead budget is 1 ms.)
 *
 * Failures map to what the gateway may do next (types.ts ReplicaFailure):
 *   REJECTED → 'rejected' (the model refused the inputs; the message is the replica's)
 *   FAILED, an unreadable answer, or a server that will not open the channel → 'internal'
 *   no connection, a reset, or a socket closed before the answer → 'lost' (the process is gone)
 * An aborted `signal` rejects with its reason: the caller gave up, the replica did not fail.
 */
import { Pool } from 'undici';
import { decodeFrame, encodeFrame, KIND } from '../../../runtimes/serving/protocol.mjs';
import { ReplicaError, type ModelSignature, type Replica, type ReplicaState, type TensorMap } from '../types.ts';
import { FrameChannel } from './frame-channel.ts';

export interface ReplicaClientOptions {
  id: string;
  /** The service's base URL, e.g. http://127.0.0.1:41234 (the task's service endpoint). */
  url: string;
  /** GPU ids the scheduler gave the replica's task. */
  gpus?: readonly string[];
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
  private readonly channel: FrameChannel;

  constructor(opts: ReplicaClientOptions) {
    this.id = opts.id;
    this.gpus = opts.gpus ?? [];
    // The replica keeps idle sockets 65 s; closing ours well before avoids writing to a socket
    // the server is closing (that would look like a lost replica).
    this.pool = new Pool(opts.url, { connections: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 30_000 });
    this.channel = new FrameChannel(new URL(opts.url), `replica ${opts.id}`);
  }

  /** No GPU probe on the local backend yet: the router falls back to least_loaded. */
  gpuFreeBytes(): number | null {
    return null;
  }

  async infer(inputs: TensorMap, signal?: AbortSignal): Promise<TensorMap> {
    const answer = await this.channel.request(encodeFrame(inputs, 'inputs'), signal);
    if (answer.kind === KIND.REJECTED) throw new ReplicaError('rejected', answer.body.toString('utf8'));
    if (answer.kind !== KIND.OK) throw new ReplicaError('internal', answer.body.toString('utf8'));
    try {
      return decodeFrame(answer.body);
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
    this.channel.close();
    await this.pool.destroy();
  }

  private async call(method: 'GET', path: string, signal?: AbortSignal): Promise<Buffer> {
    let status: number;
    let bytes: Buffer;
    try {
      const res = await this.pool.request({
        method,
        path,
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
