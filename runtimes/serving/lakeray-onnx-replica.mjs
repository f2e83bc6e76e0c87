/**
 * One serving replica (docs/serving.md): a service task that loads `model.onnx` of
 * params.model @ params.version from the lake into an onnxruntime-node session and answers on
 * its service port (params.port):
 *
 *   GET  /health     200 {"status":"ok"} (the server listens only once the session exists)
 *   GET  /signature  the model's inputs and outputs {inputs: [{name, dtype, shape}], outputs}
 *   POST /infer      one frame of inputs (protocol.mjs) → one frame of outputs;
 *                    400 INVALID_TENSOR when the inputs do not fit the model, 500 otherwise
 *   GET  /frames     with `Upgrade: lakeray-frames`: the frame channel (protocol.mjs), the same
 *                    /infer over one socket without HTTP per batch (what the gateway uses)
 *
 * session.run blocks this process's thread while it computes: that is the point, the process
 * is the replica and the scheduler gave its task `threads` CPUs. It stops when the task is
 * stopped (ctx.signal): the server closes, the session is released, run() returns.
 *
 * Params: model, version, threads (intra-op threads, default 1), deployment (for logs).
 */
import http from 'node:http';
import ort from 'onnxruntime-node';
import { CHANNEL_PATH, CHANNEL_UPGRADE, decodeFrame, encodeFrame, FrameError, inputProblem, KIND, MessageReader, writeMessage } from './protocol.mjs';

const KEEP_ALIVE_MS = 65_000; // longer than the client's 30 s: the client closes idle sockets first

/** The CUDA provider where the scheduler gave GPUs and this onnxruntime build has it; else CPU. */
const createSession = async (bytes, threads, ctx) => {
  const options = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  const gpus = (process.env.CUDA_VISIBLE_DEVICES ?? '').trim();
  if (gpus !== '' && gpus !== '-1') {
    try {
      return await ort.InferenceSession.create(bytes, { ...options, executionProviders: ['cuda', 'cpu'] });
    } catch (err) {
      ctx.log(`no CUDA provider in this onnxruntime (${err.message}); running on the CPU`, 'warn');
    }
  }
  return ort.InferenceSession.create(bytes, { ...options, executionProviders: ['cpu'] });
};

const specsOf = (names, metadata) =>
  names.map((name, i) => ({ name, dtype: metadata?.[i]?.type ?? 'float32', shape: metadata?.[i]?.shape ?? [] }));

const sendJson = (res, status, body) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

const readBody = (req) =>
  new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

const infer = async (session, signature, body) => {
  let inputs;
  try {
    inputs = decodeFrame(body);
  } catch (err) {
    if (err instanceof FrameError) return { status: 400, error: err.message };
    throw err;
  }
  const problem = inputProblem(signature, inputs);
  if (problem !== null) return { status: 400, error: problem };
  const feeds = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, new ort.Tensor(t.dtype, t.data, t.shape)]));
  const results = await session.run(feeds);
  const outputs = {};
  for (const [name, t] of Object.entries(results)) outputs[name] = { dtype: t.type, shape: [...t.dims], data: t.data };
  return { status: 200, frame: encodeFrame(outputs, 'outputs') };
};

const handler = (session, signature) => async (req, res) => {
  try {
    if (req.method === 'GET' && req.url === '/health') return sendJson(res, 200, { status: 'ok' });
    if (req.method === 'GET' && req.url === '/signature') return sendJson(res, 200, signature);
    if (req.method !== 'POST' || req.url !== '/infer') return sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}` } });
    const answer = await infer(session, signature, await readBody(req));
    if (answer.status !== 200) return sendJson(res, answer.status, { error: { code: 'INVALID_TENSOR', message: answer.error } });
    res.writeHead(200, { 'content-type': 'application/vnd.lakeray.frame', 'content-length': answer.frame.length });
    res.end(answer.frame);
  } catch (err) {
    sendJson(res, 500, { error: { code: 'INFERENCE_FAILED', message: `onnxruntime failed: ${err?.message ?? err}` } });
  }
};

/** Answers frame-channel requests as they come; a socket that breaks the protocol is dropped. */
const channel = (session, signature, sockets) => (req, socket, head) => {
  if (req.url !== CHANNEL_PATH || req.headers.upgrade !== CHANNEL_UPGRADE) {
    socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => socket.destroy());
  socket.setNoDelay(true);
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: ${CHANNEL_UPGRADE}\r\nconnection: Upgrade\r\n\r\n`);
  const answer = async ({ id, kind, body }) => {
    let reply;
    try {
      reply = kind !== KIND.REQUEST
        ? { status: 400, error: `channel: message kind ${kind} is not a request` }
        : await infer(session, signature, body);
    } catch (err) {
      reply = { status: 500, error: `onnxruntime failed: ${err?.message ?? err}` };
    }
    if (socket.destroyed) return;
    if (reply.status === 200) writeMessage(socket, id, KIND.OK, reply.frame);
    else writeMessage(socket, id, reply.status === 400 ? KIND.REJECTED : KIND.FAILED, Buffer.from(reply.error));
  };
  const reader = new MessageReader((m) => void answer(m));
  const onData = (chunk) => {
    try {
      reader.push(chunk);
    } catch {
      socket.destroy();
    }
  };
  socket.on('data', onData);
  onData(head);
};

export async function run(_input, _output, params, ctx) {
  const threads = Math.max(1, Number.parseInt(params.threads ?? 1, 10) || 1);
  const stored = await ctx.readModel(params.model, params.version == null ? {} : { version: params.version });
  const bytes = stored.files['model.onnx'];
  if (bytes === undefined) {
    throw new Error(`model ${stored.name} version ${stored.version} has no model.onnx (files: ${Object.keys(stored.files).join(', ') || 'none'})`);
  }
  const session = await createSession(bytes, threads, ctx);
  const signature = {
    inputs: specsOf(session.inputNames, session.inputMetadata),
    outputs: specsOf(session.outputNames, session.outputMetadata),
  };
  const server = http.createServer(handler(session, signature));
  const channelSockets = new Set();
  server.on('upgrade', channel(session, signature, channelSockets));
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(params.port ?? process.env.PORT), '127.0.0.1', resolve);
  });
  ctx.log(`replica of ${params.deployment ?? stored.name}: ${stored.name}@${stored.version} on port ${params.port}, ${threads} thread(s)`);

  await new Promise((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', resolve, { once: true });
  });
  server.close();
  server.closeAllConnections();
  for (const socket of channelSockets) socket.destroy();
  await session.release();
  return null;
}
