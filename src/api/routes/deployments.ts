/**
 * Serving deployments (docs/serving.md): create, list, get, reconfigure (PATCH, live), delete
 * (drain, then stop), stats, and predict. Predict takes JSON (`{"inputs": …}`, or seed 004's
 * `{"image": […]}` for a one-input model), raw float32 with an `X-Lakeray-Shape` header, or an
 * Arrow IPC stream, and answers in kind. Binary bodies get their own parsers in this plugin
 * only; the rest of the API stays JSON-only.
 */
import type { FastifyRequest } from 'fastify';
import { type FastifyPluginAsyncZod, validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LakerayError } from '../../domain/errors.ts';
import { deploymentCreateSchema, deploymentPatchSchema } from '../../serving/deployment-spec.ts';
import type { DeploymentManager } from '../../serving/deployments.ts';
import {
  ARROW_CONTENT_TYPE,
  decodeArrow,
  decodeImage,
  decodeJsonInputs,
  decodeRaw,
  encodeArrow,
  encodeRaw,
  imageAnswer,
  isImageRequest,
  jsonAnswer,
  RAW_CONTENT_TYPE,
} from '../../serving/tensor.ts';
import { readImageBody } from '../../serving/json-image.ts';
import type { TensorMap } from '../../serving/types.ts';
import { auditRequest, callerOf } from '../caller.ts';
import { errorResponses } from '../plugins/errors.ts';
import { boundedJsonParser, DEFAULT_MAX_JSON_DEPTH } from '../plugins/json-body.ts';

export interface DeploymentRoutesOptions {
  deployments: DeploymentManager;
  /** Largest binary predict body (raw float32 or Arrow), in bytes. */
  maxPredictBytes: number;
  /** The server's JSON depth bound (server.max_json_depth), kept by this plugin's own JSON parser. */
  maxJsonDepth?: number;
}

const PREFIX = '/api/v1/deployments';
const NAME_MAX = 63;
const nameParams = z.object({ name: z.string().min(1).max(NAME_MAX) }).strict();

/**
 * The predict route's validation: its params (`{name}`, as the router parsed them from the path)
 * checked by hand against nameParams' rule, zod only for params that break it (so the 400 and its
 * message are zod's); the schema still documents the route. zod's parse was ~1 % of a JSON
 * predict's server time in the serve bench's profile.
 */
const predictValidator: typeof validatorCompiler = (route) => {
  const zod = validatorCompiler(route);
  if (route.httpPart !== 'params') return zod;
  return (data) => {
    const name = (data as { name?: unknown }).name;
    return typeof name === 'string' && name.length >= 1 && name.length <= NAME_MAX && Object.keys(data as object).length === 1 ? { value: data } : zod(data);
  };
};

/** The settings the gateway applies per batch (BatchSettings), in a deployment and in its stats. */
const batchSettingsView = z.object({
  max_batch_size: z.number(),
  batch_timeout_ms: z.number(),
  enable_dynamic_batching: z.boolean(),
  close_batch_when_idle: z.boolean().optional(),
  load_balance_strategy: z.string(),
  max_queue: z.number(),
  request_timeout_ms: z.number(),
});

const tensorSpec = z.object({ name: z.string(), dtype: z.string(), shape: z.array(z.union([z.number(), z.string(), z.null()])) });
const deploymentView = z.object({
  name: z.string(),
  model: z.string(),
  model_version: z.number(),
  backend: z.enum(['local', 'ray']),
  executor: z.string().nullable(),
  status: z.enum(['starting', 'ready', 'scaled_to_zero', 'failed', 'deleting']),
  last_error: z.string().nullable().describe('Why replicas fail to start, while status is failed'),
  replicas: z.object({ min: z.number(), max: z.number(), idle_timeout_s: z.number() }),
  resources: z.object({ cpu: z.number(), gpu: z.number() }),
  ...batchSettingsView.shape,
  state: z.array(z.object({ input: z.string(), output: z.string() })).nullable(),
  routing: z.record(z.string(), z.string()).nullable(),
  signature: z.object({ inputs: z.array(tensorSpec), outputs: z.array(tensorSpec) }).nullable(),
  replica_status: z.array(
    z.object({ id: z.string(), state: z.enum(['starting', 'ready', 'draining']), load: z.number(), gpus: z.array(z.string()), task_id: z.string().nullable(), started_at: z.number() }),
  ),
  created_at: z.number(),
  updated_at: z.number(),
});

const statsView = z.object({
  name: z.string(),
  queue_depth: z.number(),
  queue_rows: z.number(),
  in_flight_rows: z.number(),
  requests_total: z.number(),
  rows_total: z.number(),
  batches_total: z.number(),
  mean_batch_size: z.number(),
  batch_size_histogram: z.record(z.string(), z.number()),
  latency_ms: z.object({ p50: z.number(), p95: z.number(), p99: z.number() }),
  throughput_rps: z.number(),
  rows_per_s: z.number(),
  refused: z.record(z.string(), z.number()),
  cold_starts: z.object({ count: z.number(), last_ms: z.number().nullable(), mean_ms: z.number().nullable() }),
  replicas: z.array(z.object({ id: z.string(), state: z.string(), rows_in_flight: z.number(), batches: z.number(), rows: z.number(), gpus: z.array(z.string()) })),
  settings: batchSettingsView,
});

const rowsOf = (inputs: TensorMap): number => Object.values(inputs)[0]?.shape[0] ?? 0;

export const deploymentRoutes: FastifyPluginAsyncZod<DeploymentRoutesOptions> = async (app, { deployments, maxPredictBytes, maxJsonDepth = DEFAULT_MAX_JSON_DEPTH }) => {
  const raw = (_r: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => done(null, body);
  app.addContentTypeParser(RAW_CONTENT_TYPE, { parseAs: 'buffer', bodyLimit: maxPredictBytes }, raw);
  app.addContentTypeParser(ARROW_CONTENT_TYPE, { parseAs: 'buffer', bodyLimit: maxPredictBytes }, raw);
  // JSON as every other route parses it (plugins/json-body.ts: the depth bound, then Fastify's
  // parser), except seed 004's `{"image": [numbers]}` to predict, read from its bytes straight
  // into a Float32Array (serving/json-image.ts; depth 2, within any bound). Any other body takes
  // the ordinary path, refusals included.
  const json = boundedJsonParser(app, maxJsonDepth);
  app.removeContentTypeParser('application/json'); // in this plugin's scope only
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    const image = request.routeOptions.url?.endsWith('/predict') === true ? readImageBody(body) : null;
    if (image !== null) return done(null, { image });
    json(request, body.toString('utf8'), done);
  });

  app.post(
    PREFIX,
    { schema: { tags: ['deployments'], summary: 'Deploy a lake model for serving', body: deploymentCreateSchema, response: { 201: deploymentView, ...errorResponses(400, 404, 409) } } },
    async (request, reply) => {
      const view = await deployments.create(callerOf(request), request.body);
      return reply.code(201).send(view);
    },
  );

  app.get(PREFIX, { schema: { tags: ['deployments'], summary: 'Deployments of the caller', querystring: z.object({}).strict(), response: { 200: z.object({ items: z.array(deploymentView) }) } } }, async (request) => ({
    items: deployments.list(callerOf(request)),
  }));

  app.get(`${PREFIX}/:name`, { schema: { tags: ['deployments'], summary: 'One deployment, with its replicas', params: nameParams, response: { 200: deploymentView, ...errorResponses(404) } } }, async (request) =>
    deployments.get(callerOf(request), request.params.name),
  );

  app.patch(
    `${PREFIX}/:name`,
    { schema: { tags: ['deployments'], summary: 'Reconfigure live (batch settings, strategy, replica counts)', params: nameParams, body: deploymentPatchSchema, response: { 200: deploymentView, ...errorResponses(400, 404) } } },
    async (request) => deployments.patch(callerOf(request), request.params.name, request.body),
  );

  app.delete(`${PREFIX}/:name`, { schema: { tags: ['deployments'], summary: 'Drain, then stop and forget the deployment', params: nameParams, response: { 204: z.null(), ...errorResponses(404) } } }, async (request, reply) => {
    await deployments.delete(callerOf(request), request.params.name);
    await auditRequest(request, 'deployment.delete', request.params.name);
    return reply.code(204).send(null);
  });

  app.get(`${PREFIX}/:name/stats`, { schema: { tags: ['deployments'], summary: 'Queue, batches, latency, throughput, replicas, cold starts, refusals', params: nameParams, response: { 200: statsView, ...errorResponses(404) } } }, async (request) =>
    deployments.stats(callerOf(request), request.params.name),
  );

  app.post(
    `${PREFIX}/:name/predict`,
    {
      schema: { tags: ['deployments'], summary: 'Run inputs through the deployment (JSON, raw float32 or Arrow IPC)', params: nameParams, response: errorResponses(400, 404, 415, 429, 503, 504) },
      validatorCompiler: predictValidator as never, // typed by Fastify as a compiler of this route's whole schema object
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const { name } = request.params;
      const d = deployments.deployment(caller, name);
      // Known once a replica has been ready; until then wait for it (a cold start holds the request).
      const signature = d.signature ?? (await deployments.signature(caller, name));
      const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (type === RAW_CONTENT_TYPE) {
        const inputs = decodeRaw(signature, request.body as Buffer, header(request, 'x-lakeray-shape'), header(request, 'x-lakeray-input'));
        const outputs = await run(inputs);
        const out = encodeRaw(signature, outputs, header(request, 'x-lakeray-output'));
        return reply.headers(out.headers).send(out.body as never);
      }
      if (type === ARROW_CONTENT_TYPE) {
        const outputs = await run(decodeArrow(signature, request.body as Buffer));
        return reply.type(ARROW_CONTENT_TYPE).send(Buffer.from(encodeArrow(outputs)) as never);
      }
      if (type !== 'application/json') throw new LakerayError('UNSUPPORTED_MEDIA_TYPE', `predict takes application/json, ${RAW_CONTENT_TYPE} (with X-Lakeray-Shape) or ${ARROW_CONTENT_TYPE}`);
      if (isImageRequest(request.body)) {
        const outputs = await run(decodeImage(signature, request.body));
        return reply.send(imageAnswer(signature, outputs, d.classes ?? undefined) as never);
      }
      const outputs = await run(decodeJsonInputs(signature, request.body));
      return reply.send(jsonAnswer(outputs, d.modelName, d.modelVersion) as never);

      /** Inputs a decoder returned: each decoder has checked them against the signature already. */
      function run(inputs: TensorMap): Promise<TensorMap> {
        return deployments.predict(caller, name, inputs, rowsOf(inputs));
      }
    },
  );

  function header(request: FastifyRequest, h: string): string | undefined {
    const v = request.headers[h];
    return Array.isArray(v) ? v[0] : v;
  }
};
