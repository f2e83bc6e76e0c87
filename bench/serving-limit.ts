/**
 * The serve benchmark's limit: raw onnxruntime-node batched in one process, behind the thinnest
 * HTTP server, answering the same clients with the same request. A node:http server on this
 * thread parses seed 004's `{"image": [784]}` (the gateway's own fast reader, src/serving/json-image.ts,
 * else JSON.parse; clip to [0, 1]), queues the image,
 * and whenever the session is idle runs everything queued (up to `maxBatch` images) as one
 * [n, 1, 28, 28] session.run; each client gets `{"prediction", "probabilities"}` (softmax of
 * its logits). No timers, no validation beyond the image's length: what is left when serving
 * costs nothing but the HTTP round trip and the model.
 *
 * The same server also takes the binary request a throughput client sends the gateway: the raw
 * float32 image (`application/octet-stream`, 784 × 4 bytes, little-endian), answered as the
 * gateway answers it: the raw float32 logits with `x-lakeray-shape: 1,10`. Either way the limit
 * does the least its request format allows.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import ort from 'onnxruntime-node';
import { readImageBody } from '../src/serving/json-image.ts';

interface Waiting {
  image: Float32Array;
  answer(logits: Float32Array): void;
}

const RAW_BYTES = 784 * 4;

const softmaxAnswer = (logits: Float32Array) => {
  const max = Math.max(...logits);
  const exp = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  const probabilities = exp.map((v) => v / sum);
  return JSON.stringify({ prediction: probabilities.indexOf(Math.max(...probabilities)), probabilities });
};

export async function startLimitServer(session: ort.InferenceSession, maxBatch: number): Promise<{ url: string; batches(): number; close(): Promise<void> }> {
  const queue: Waiting[] = [];
  let running = false;
  let batches = 0;
  const runBatch = async () => {
    if (running || queue.length === 0) return;
    running = true;
    const batch = queue.splice(0, maxBatch);
    const data = new Float32Array(batch.length * 784);
    batch.forEach((w, i) => data.set(w.image, i * 784));
    try {
      const out = await session.run({ input: new ort.Tensor('float32', data, [batch.length, 1, 28, 28]) });
      const logits = out.logits!.data as Float32Array;
      batch.forEach((w, i) => w.answer(logits.subarray(i * 10, i * 10 + 10)));
      batches += 1;
    } finally {
      running = false;
      void runBatch();
    }
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      if (req.headers['content-type'] === 'application/octet-stream') {
        if (bytes.length !== RAW_BYTES) {
          res.writeHead(400).end('{"error":"the body must be 784 float32"}');
          return;
        }
        const image = new Float32Array(784);
        new Uint8Array(image.buffer).set(bytes);
        for (let i = 0; i < 784; i++) image[i] = Math.min(1, Math.max(0, image[i]!));
        queue.push({
          image,
          answer: (logits) => {
            res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-lakeray-shape': '1,10', 'content-length': logits.byteLength })
              .end(Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength));
          },
        });
        void runBatch();
        return;
      }
      // The gateway's fast read of `{"image": [numbers]}` (src/serving/json-image.ts), so the
      // limit keeps the best JSON path there is; JSON.parse for any other body.
      const image = readImageBody(bytes) ?? (JSON.parse(bytes.toString('utf8')) as { image?: number[] }).image;
      if (!(Array.isArray(image) || image instanceof Float32Array) || image.length !== 784) {
        res.writeHead(400).end('{"error":"image must be 784 numbers"}');
        return;
      }
      const pixels = image instanceof Float32Array ? image : Float32Array.from(image);
      for (let i = 0; i < 784; i++) pixels[i] = Math.min(1, Math.max(0, pixels[i]!));
      queue.push({
        image: pixels,
        answer: (logits) => {
          const body = softmaxAnswer(logits);
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
        },
      });
      void runBatch();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    batches: () => batches,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
