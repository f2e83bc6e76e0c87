/**
 * Where the Draw page sends a drawing: a deployment serving an image model (seed 004's
 * `{"image": […]}` predict), or, on a platform without one, the `mnist_serve` service task
 * through the platform's proxy. Both answer `{prediction, confidence, probabilities, label_names}`.
 */
import { api, request } from '../../api/client.ts';
import type { Deployment } from '../../api/serving.ts';
import type { ServiceInfo } from '../../api/types.ts';

export interface DrawTarget {
  key: string;
  predictUrl: string;
  servedBy: { kind: 'deployment'; name: string } | { kind: 'task'; id: string };
}

export interface ServedModelInfo {
  model?: string;
  version?: number;
  accuracy?: unknown;
  labels?: string[];
}

export const pickService = (list: ServiceInfo[]): ServiceInfo | undefined => {
  const mnist = list.filter((s) => s.name === 'mnist_serve' || s.name.startsWith('mnist_serve') || s.name.includes('mnist'));
  return mnist.find((s) => s.state === 'ready') ?? mnist[0];
};

/** A deployment that can take a request now (a scaled-to-zero one cold-starts on it). */
export const usable = (d: Deployment): boolean => d.status === 'ready' || d.status === 'scaled_to_zero';

const baseOf = (s: ServiceInfo): string => (s.url.endsWith('/') ? s.url : `${s.url}/`);

export const deploymentTarget = (d: Deployment): DrawTarget => ({ key: `d:${d.name}`, predictUrl: `/api/v1/deployments/${encodeURIComponent(d.name)}/predict`, servedBy: { kind: 'deployment', name: d.name } });

export const serviceTarget = (s: ServiceInfo): DrawTarget => ({ key: `s:${s.task_id}`, predictUrl: `${baseOf(s)}predict`, servedBy: { kind: 'task', id: s.task_id } });

/** What the model knows: a deployment's lake model (params.classes, metrics.accuracy), or the service's /model. */
export async function modelInfo(source: { deployment: Deployment } | { service: ServiceInfo }, signal: AbortSignal): Promise<ServedModelInfo> {
  if ('service' in source) {
    const m = await request<{ model?: string; version?: number; metrics?: Record<string, unknown>; label_names?: string[] }>(`${baseOf(source.service)}model`, { signal });
    return { model: m.model, version: m.version, accuracy: m.metrics?.accuracy, labels: m.label_names?.map(String) };
  }
  const d = source.deployment;
  const detail = await api.model(d.model, signal);
  const classes = detail.params?.classes;
  return { model: d.model, version: d.model_version, accuracy: detail.metrics?.accuracy, labels: Array.isArray(classes) ? classes.map(String) : undefined };
}

