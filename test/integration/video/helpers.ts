/**
 * The video tests' server: the whole platform in-process (startServer with a parsed config),
 * fixture models that run test/fixtures/scripts/video/fake_generate.py, and small HTTP helpers.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { parseConfig } from '../../../src/config/load.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

export { until };

export const FIXTURE_SCRIPTS = resolve(import.meta.dirname, '../../fixtures/scripts');

export const CONTRACT_PARAMS = {
  prompt: '{prompt}',
  negative_prompt: '{negative_prompt}',
  width: '{width}',
  height: '{height}',
  num_frames: '{num_frames}',
  fps: '{fps}',
  seed: '{seed}',
  image: '{image}',
  watermark: '{watermark}',
  model: '{model}',
};

/** A catalog model running the fake generator; `params` adds test knobs (frame_s, early_artifact…). */
export const fakeModel = (id: string, o: { params?: Record<string, unknown>; resources?: Record<string, number>; defaults?: Record<string, unknown>; limits?: Record<string, unknown> } = {}) => ({
  id,
  name: `Fake ${id}`,
  description: 'test generator',
  executor: 'local',
  template: { kind: 'script', script: 'video/fake_generate.py', params: { ...CONTRACT_PARAMS, frame_s: 0.01, ...o.params } },
  resources: { cpu: 1, gpu: 0, ...o.resources },
  defaults: { size: '64*48', fps: 8, num_frames: 8, ...o.defaults },
  limits: { max_width: 256, max_height: 256, max_frames: 64, ...o.limits },
});

export interface VideoServer extends RunningServer {
  dir: string;
  state: string;
}

export async function startVideoServer(extra: Record<string, any> = {}, gpus = 2): Promise<VideoServer> {
  const dir = tempDir('lakeray-video-');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const { generation, webhooks, ...rest } = extra;
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      script_roots: [FIXTURE_SCRIPTS],
      data_roots: [join(dir, 'data')],
      lake: { root: join(dir, 'lake') },
      executors: {
        local: {
          cpu: 8,
          gpus,
          kill_grace_ms: 1000,
          pools: [{ name: 'py', runtime: 'python', min: 2, max: 4 }],
          default_pools: { python: 'py' },
        },
      },
      generation: { models: [fakeModel('fake')], ...generation },
      webhooks: { progress_interval_ms: 200, backoff_ms: 100, ...webhooks },
      ...rest,
    },
    dir,
    {},
  );
  const server = await startServer({ config, port: 0, logLevel: 'silent' });
  return Object.assign(server, { dir, state: join(dir, 'state') });
}

export const generate = async (s: RunningServer, body: Record<string, unknown>) => api(s.url, 'POST', '/v1/video/generations', body);

export const video = async (s: RunningServer, id: string) => (await api(s.url, 'GET', `/v1/video/generations/${id}`)).body;

export const finished = (s: RunningServer, id: string, ms = 30_000) =>
  until(`generation ${id} to finish`, async () => {
    const v = await video(s, id);
    return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(v.status) ? v : null;
  }, ms);

export const taskCount = async (s: RunningServer): Promise<number> => (await api(s.url, 'GET', '/api/v1/tasks?limit=1000')).body.tasks.length;

export async function download(url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  const r = await request(url, { method, headers });
  const body = Buffer.from(await r.body.arrayBuffer());
  return { status: r.statusCode, headers: r.headers, body };
}

export const artifactDir = (s: VideoServer, id: string) => join(s.state, 'artifacts', id);
export const stagingDir = (s: VideoServer, id: string) => join(s.state, 'artifacts', '.staging', id);
export const exists = existsSync;
