/**
 * The few deployment calls an evaluation makes (docs/api.md, deployments): read the
 * deployment (signature, settings), read its stats, change its batching settings.
 * Non-2xx answers throw EvalApiError with the API's code, so the CLI prints them as usual.
 */
import { request } from 'undici';
import type { ModelSignature, StateBinding } from '../types.ts';
import type { StatsSnapshot } from './metrics.ts';
import type { LoadTarget } from './users.ts';
import { errorCodeOf } from './users.ts';

export interface DeploymentJson {
  name: string;
  model: string;
  model_version?: number;
  status?: string;
  signature?: ModelSignature | null;
  state?: StateBinding[];
  max_batch_size: number;
  batch_timeout_ms: number;
  enable_dynamic_batching: boolean;
}

export type BatchPatch = Partial<Pick<DeploymentJson, 'max_batch_size' | 'batch_timeout_ms' | 'enable_dynamic_batching'>>;

export class EvalApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'EvalApiError';
  }
}

export class DeploymentApi {
  constructor(private readonly target: LoadTarget) {}

  get(): Promise<DeploymentJson> {
    return this.call('GET', '');
  }

  stats(): Promise<StatsSnapshot> {
    return this.call('GET', '/stats');
  }

  patch(body: BatchPatch): Promise<DeploymentJson> {
    return this.call('PATCH', '', body);
  }

  private async call<T>(method: 'GET' | 'PATCH', suffix: string, body?: unknown): Promise<T> {
    const t = this.target;
    const url = `${t.baseUrl.replace(/\/+$/, '')}/api/v1/deployments/${encodeURIComponent(t.deployment)}${suffix}`;
    const headers: Record<string, string> = { ...t.headers, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await request(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.body.text();
    if (res.statusCode >= 300) {
      let message = text.slice(0, 200);
      try {
        message = String((JSON.parse(text) as { error: { message: unknown } }).error.message);
      } catch {
        // keep the raw text
      }
      throw new EvalApiError(res.statusCode, errorCodeOf(res.statusCode, text), `${method} ${suffix || '/'} of deployment "${t.deployment}": ${message}`);
    }
    return JSON.parse(text) as T;
  }
}
