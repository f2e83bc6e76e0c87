/**
 * fetch, with the API's error shape (`{"error": {"code", "message"}}`) turned into ApiError,
 * and a network failure into ApiError status 0 ("the API is not reachable").
 */
import type {
  ExecutorInfo,
  Generation,
  GenerationRequest,
  RowsPage,
  ServiceInfo,
  TableDetail,
  TableInfo,
  Task,
  TaskEvent,
  TaskList,
  Upload,
  VersionInfo,
  VideoModel,
} from './types.ts';
import { authHeaders, signInNeeded, withToken } from './auth.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get notFound(): boolean {
    return this.status === 404;
  }

  get unreachable(): boolean {
    return this.status === 0;
  }
}

export const isAbort = (err: unknown): boolean => err instanceof DOMException && err.name === 'AbortError';

export async function request<T>(path: string, init: RequestInit = {}, onResponse?: (res: Response) => void): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { accept: 'application/json', ...authHeaders(), ...(init.headers ?? {}) } });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError(0, 'UNREACHABLE', 'The Lakeray API is not reachable. Is the server running?');
  }
  onResponse?.(res);
  if (res.status === 401) signInNeeded();
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null; // not JSON (a proxy's HTML error page): the status says enough
  }
  if (!res.ok) {
    const e = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? (res.statusText || `HTTP ${res.status}`));
  }
  return body as T;
}

const json = (method: string, body: unknown): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

const q = (params: Record<string, string | number | undefined | null>): string => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, String(v));
  const out = s.toString();
  return out ? `?${out}` : '';
};

const enc = encodeURIComponent;

/** The target of a Link header's rel="next" (RFC 8288), or null. */
const nextLink = (link: string | null): string | null => /<([^>]*)>\s*;[^,]*\brel="?next"?/.exec(link ?? '')?.[1] ?? null;

/** Every item of a list the API answers as pages of a JSON array, following Link rel="next". */
async function listAll<T>(path: string, signal?: AbortSignal): Promise<T[]> {
  const all: T[] = [];
  const seen = new Set<string>();
  for (let next: string | null = path; next !== null && !seen.has(next); ) {
    seen.add(next);
    let following: string | null = null;
    all.push(...(await request<T[]>(next, { signal }, (res) => (following = nextLink(res.headers.get('link'))))));
    next = following;
  }
  return all;
}

export const api = {
  tasks: (p: { status?: string; name?: string; limit?: number; cursor?: string | null }, signal?: AbortSignal) =>
    request<TaskList>(`/api/v1/tasks${q(p)}`, { signal }),
  task: (id: string, signal?: AbortSignal) => request<Task>(`/api/v1/tasks/${enc(id)}`, { signal }),
  cancelTask: (id: string) => request<Task>(`/api/v1/tasks/${enc(id)}/cancel`, { method: 'POST' }),
  deleteTask: (id: string) => request<void>(`/api/v1/tasks/${enc(id)}`, { method: 'DELETE' }),
  events: (id: string, after = 0, limit = 1000, signal?: AbortSignal) =>
    request<{ events: TaskEvent[]; next_seq: number }>(`/api/v1/tasks/${enc(id)}/events${q({ after, limit })}`, { signal }),
  artifacts: (id: string, signal?: AbortSignal) => request<unknown>(`/api/v1/tasks/${enc(id)}/artifacts`, { signal }),
  artifactUrl: (id: string, name: string) => `/api/v1/tasks/${enc(id)}/artifacts/${name.split('/').map(enc).join('/')}`,
  logsUrl: (id: string) => withToken(`/api/v1/tasks/${enc(id)}/logs?format=text&limit=100000`),

  executors: (signal?: AbortSignal) => request<{ executors: ExecutorInfo[] }>('/api/v1/executors', { signal }),

  services: (signal?: AbortSignal) => request<{ services: ServiceInfo[] }>('/api/v1/services', { signal }),

  datasets: (signal?: AbortSignal) => listAll<TableInfo>('/api/v1/datasets?limit=1000', signal),
  dataset: (id: string, signal?: AbortSignal) => request<TableDetail>(`/api/v1/datasets/${enc(id)}`, { signal }),
  models: (signal?: AbortSignal) => listAll<TableInfo>('/api/v1/models?limit=1000', signal),
  model: (id: string, signal?: AbortSignal) => request<TableDetail>(`/api/v1/models/${enc(id)}`, { signal }),
  modelFileUrl: (id: string, file: string, version?: number) => withToken(`/api/v1/models/${enc(id)}/files/${enc(file)}${q({ version })}`),
  rows: (
    kind: 'datasets' | 'models',
    id: string,
    p: { offset: number; limit: number; version?: string | number; expand?: string; columns?: string },
    signal?: AbortSignal,
  ) => request<RowsPage>(`/api/v1/${kind}/${enc(id)}/rows${q(p)}`, { signal }),
  versions: (kind: 'datasets' | 'models', id: string, signal?: AbortSignal) =>
    request<{ versions: VersionInfo[] }>(`/api/v1/${kind}/${enc(id)}/versions`, { signal }),

  videoModels: (signal?: AbortSignal) => request<{ models: VideoModel[] }>('/v1/video/models', { signal }),
  generate: (body: GenerationRequest) =>
    request<{ task_id: string; status: 'QUEUED'; queue_position: number | null }>('/v1/video/generations', json('POST', body)),
  generation: (id: string, signal?: AbortSignal) => request<Generation>(`/v1/video/generations/${enc(id)}`, { signal }),
  generations: async (limit: number, signal?: AbortSignal): Promise<Generation[]> => {
    const body = await request<unknown>(`/v1/video/generations${q({ limit })}`, { signal });
    return listOf<Generation>(body, ['generations', 'data', 'items', 'tasks']);
  },
  cancelGeneration: (id: string) => request<unknown>(`/v1/video/generations/${enc(id)}`, { method: 'DELETE' }),
  upload: (file: File, signal?: AbortSignal) => {
    const form = new FormData();
    form.append('file', file, file.name);
    return request<Upload>('/api/v1/uploads', { method: 'POST', body: form, signal });
  },
};

/** A list out of a response that is a bare array or wraps it under one of a few names. */
export function listOf<T>(body: unknown, keys: string[]): T[] {
  if (Array.isArray(body)) return body as T[];
  if (body && typeof body === 'object') {
    for (const k of keys) {
      const v = (body as Record<string, unknown>)[k];
      if (Array.isArray(v)) return v as T[];
    }
  }
  return [];
}

