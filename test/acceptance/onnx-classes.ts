/** Runs an ONNX image classifier as a client would, outside the platform: onnxruntime of the project's venv. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPython } from '../../src/main.ts';

/** Argmax classes of the ONNX model file on an [n,1,28,28] batch (its float32 file written to dir). */
export function onnxClasses(modelPath: string, batch: Float32Array, n: number, dir: string): number[] {
  const input = join(dir, 'batch.f32');
  writeFileSync(input, Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength));
  const code = [
    'import sys, json, numpy as np, onnxruntime as ort',
    's = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])',
    'x = np.fromfile(sys.argv[2], dtype=np.float32).reshape(int(sys.argv[3]), 1, 28, 28)',
    'print(json.dumps(s.run(None, {s.get_inputs()[0].name: x})[0].argmax(axis=1).tolist()))',
  ].join('\n');
  return JSON.parse(execFileSync(defaultPython(), ['-c', code, modelPath, input, String(n)], { encoding: 'utf8' })) as number[];
}
