/**
 * A Ray Serve application as one `Replica` of a Lakeray deployment's gateway: a batch goes as
 * one tensor frame (frame.ts) to the application's route on Serve's HTTP proxy, which hands it
 * to one of the app's Serve replicas, where `@serve.batch` may run it together with other
 * requests (runtimes/serving/ray_serve_app.py). Serve owns the replicas behind the route;
 * their states come from the REST API (serve-client.ts serveReplicaStatus).
 *
 * Failures as the gateway needs them: 400 (the model refused the inputs) → 'rejected';
 * no connection, or the proxy has no live replica for the route (404 while the route is not
 * up, 503) → 'lost', so the gateway may retry elsewhere; any other answer → 'internal'.
 */
import { Pool } from 'undici';
import { ReplicaError, type Replica, type ReplicaState, type TensorMap, type ModelSignature } from '../types.ts';
import { decodeFrame, encodeFrame } from './frame.ts';

export interface RayServeReplicaOptions {
  id: string;
  /** Serve's HTTP proxy, e.g. http://127.0.0.1:8000 */
  proxyUrl: string;
  /** the application's route prefix, e.g. /lakeray/mnist */
  routePrefix: string;
  /** most concurrent requests (default 64: Serve batches them) */
  connections?: number;
  /** deadline of one batch when the caller gives no signal (default 60 s) */
  timeoutMs?: number;
}

/** The Serve batch a request ran in, as the app reported it. */
export interface ServeBatchInfo {
  requests: number;
  rows: number;
}

export class RayServeReplica implements Replica {
  readonly id: string;
  readonly gpus: readonly string[] = [];
  state: ReplicaState = 'ready';
  /** How many answers reported a Serve batch of each number of requests. */
  readonly serveBatchSizes = new Map<number, number>();
  private readonly pool: Pool;
  private closing: Promise<void> | undefined;
  private readonly path: string;
  private readonly timeoutMs: number;

  constructor(opts: RayServeReplicaOptions) {
    this.id = opts.id;
    this.pool = new Pool(opts.proxyUrl, { connections: opts.connections ?? 64, keepAliveTimeout: 30_000 });
    this.path = opts.routePrefix.replace(/\/+$/, '') || '/';
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  gpuFreeBytes(): number | null {
    return null;
  }

  async infer(inputs: TensorMap, signal?: AbortSignal): Promise<TensorMap> {
    const { outputs, batch } = await this.inferWithBatch(inputs, signal);
    this.serveBatchSizes.set(batch.requests, (this.serveBatchSizes.get(batch.requests) ?? 0) + 1);
    return outputs;
  }

  /** One batch, and the Serve batch it ran in. */
  async inferWithBatch(inputs: TensorMap, signal?: AbortSignal): Promise<{ outputs: TensorMap; batch: ServeBatchInfo }> {
    let res;
    try {
      res = await this.pool.request({
        method: 'POST',
        path: `${this.path}/`,
        headers: { 'content-type': 'application/octet-stream' },
        body: encodeFrame(inputs),
        signal: signal ?? AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      if ((err as Error).name === 'AbortError' || (err as Error).name === 'TimeoutError') throw err;
      throw new ReplicaError('lost', `Ray Serve ${this.path}: ${(err as Error).message}`);
    }
    const body = new Uint8Array(await res.body.arrayBuffer());
    if (res.statusCode === 200) {
      const header = (name: string) => Number(res.headers[name] ?? 0);
      return { outputs: decodeFrame(body), batch: { requests: header('x-lakeray-serve-batch'), rows: header('x-lakeray-serve-rows') } };
    }
    const text = Buffer.from(body).toString('utf8');
    const message = errorMessage(text) ?? `${res.statusCode} ${text.slice(0, 300)}`;
    if (res.statusCode === 400) throw new ReplicaError('rejected', message);
    if (res.statusCode === 404 || res.statusCode === 503) throw new ReplicaError('lost', `Ray Serve ${this.path}: ${message}`);
    throw new ReplicaError('internal', message);
  }

  /** The model's inputs and outputs, as the app's onnxruntime session reads them. */
  async signature(): Promise<ModelSignature> {
    const res = await this.pool.request({ method: 'GET', path: `${this.path}/signature`, signal: AbortSignal.timeout(this.timeoutMs) });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new ReplicaError(res.statusCode === 404 || res.statusCode === 503 ? 'lost' : 'internal', `Ray Serve ${this.path}/signature: ${res.statusCode} ${text.slice(0, 300)}`);
    return JSON.parse(text) as ModelSignature;
  }

  /** Idempotent: at shutdown both the deployment (its clients) and the backend close the one replica. */
  close(): Promise<void> {
    this.closing ??= this.pool.close();
    return this.closing;
  }
}

function errorMessage(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { error?: { message?: string } }).error?.message;
  } catch {
    return undefined;
  }
}
