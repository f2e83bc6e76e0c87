/**
 * The Serve application a Lakeray deployment becomes (pure), and the tensor frame both sides
 * of the Ray backend speak, round-tripped through the Python app's own codec.
 */
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '../../../src/serving/ray/frame.ts';
import { serveApplication, type RayServeAppSpec } from '../../../src/serving/ray/serve-config.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const base: RayServeAppSpec = {
  deployment: 'mnist',
  model: 'mnist_cnn',
  version: 3,
  lakerayUrl: 'http://10.0.0.5:8080',
  workingDir: 'gcs://_ray_pkg_x.zip',
  replicas: { min: 2, max: 2 },
  resources: { cpu: 2, gpu: 1 },
  max_batch_size: 32,
  batch_timeout_ms: 5,
  enable_dynamic_batching: true,
};

describe('serveApplication', () => {
  it('fixed replicas, resources, batch settings as user_config, the model as args', () => {
    expect(serveApplication(base)).toEqual({
      name: 'lakeray-mnist',
      route_prefix: '/lakeray/mnist',
      import_path: 'ray_serve_app:build',
      runtime_env: { working_dir: 'gcs://_ray_pkg_x.zip' },
      args: { lakeray_url: 'http://10.0.0.5:8080', model: 'mnist_cnn', version: 3, threads: 2 },
      deployments: [
        {
          name: 'LakerayOnnx',
          num_replicas: 2,
          max_ongoing_requests: 64,
          user_config: { max_batch_size: 32, batch_wait_timeout_s: 0.005 },
          ray_actor_options: { num_cpus: 2, num_gpus: 1 },
        },
      ],
    });
  });

  it('min < max: Serve autoscales, down to zero after the idle timeout', () => {
    const d = serveApplication({ ...base, replicas: { min: 0, max: 3, idle_timeout_s: 120 } }).deployments[0]!;
    expect(d.num_replicas).toBeUndefined();
    expect(d.autoscaling_config).toEqual({ min_replicas: 0, max_replicas: 3, target_ongoing_requests: 32, downscale_to_zero_delay_s: 120 });
  });

  it('dynamic batching off: Serve batches of one, no wait', () => {
    const d = serveApplication({ ...base, enable_dynamic_batching: false, resources: { cpu: 0.5, gpu: 0 } });
    expect(d.deployments[0]!.user_config).toEqual({ max_batch_size: 1, batch_wait_timeout_s: 0 });
    expect(d.deployments[0]!.max_ongoing_requests).toBe(8);
    expect(d.args.threads).toBe(1);
  });
});

describe('tensor frame', () => {
  it("round-trips through the Python app's codec (runtimes/serving/lakeray_frame.py)", () => {
    const frame = encodeFrame({
      x: { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) },
      ids: { dtype: 'int64', shape: [3], data: BigInt64Array.from([1n, -2n, 3n]) },
      m: { dtype: 'uint8', shape: [1], data: Uint8Array.from([7]) },
    });
    // Python decodes our frame and encodes what it read, doubled.
    const script = `
import sys
sys.path.insert(0, sys.argv[1])
from lakeray_frame import decode_frame, encode_frame
t = decode_frame(sys.stdin.buffer.read())
sys.stdout.buffer.write(encode_frame({k: v * 2 for k, v in t.items()}))
`;
    const out = execFileSync(join(ROOT, '.venv/bin/python'), ['-c', script, join(ROOT, 'runtimes/serving')], { input: frame });
    const back = decodeFrame(out);
    expect(back.x).toEqual({ dtype: 'float32', shape: [2, 3], data: Float32Array.from([2, 4, 6, 8, 10, 13]) });
    expect(back.ids).toEqual({ dtype: 'int64', shape: [3], data: BigInt64Array.from([2n, -4n, 6n]) });
    expect(back.m).toEqual({ dtype: 'uint8', shape: [1], data: Uint8Array.from([14]) });
  });

  it('refuses a truncated frame', () => {
    const frame = encodeFrame({ x: { dtype: 'float32', shape: [4], data: new Float32Array(4) } });
    expect(() => decodeFrame(frame.subarray(0, frame.length - 8))).toThrow(/runs past the frame's end/);
    expect(() => decodeFrame(frame.subarray(0, 2))).toThrow(/at least 4 bytes/);
  });
});
