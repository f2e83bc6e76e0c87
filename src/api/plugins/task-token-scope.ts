/**
 * What a running task's token may reach (docs/security.md "Task tokens"), and what a Ray Serve
 * replica's model-read token may: `GET /api/v1/models/{its model}/files/model.onnx?version={its
 * version}` and nothing else (another model is MODEL_NOT_FOUND, any other route 403). The auth plugin
 * makes a task token a member of its task's tenant; this narrows it to what a script needs:
 * its own tenant's lake (/api/v1/datasets…, /api/v1/models…) and its own task's routes
 * (/api/v1/tasks/{its id}/…: events, logs, artifacts, reports). Another task's id answers 404
 * TASK_NOT_FOUND, as if it did not exist; any other route 403 FORBIDDEN. So a script, which can
 * read its token from its environment, cannot list, cancel or read its tenant's other tasks,
 * submit work, or reach services and deployments in the tenant's name.
 *
 * Runs after the auth plugin's onRequest hook (registered after it), on a token that plugin
 * has already verified.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LakerayError } from '../../domain/errors.ts';
import type { TaskTokens } from '../../engine/task-tokens.ts';

const LAKE_ROUTE = /^\/api\/v1\/(datasets|models)(\/|$)/;
const TASK_ROUTE = /^\/api\/v1\/tasks\/:id(\/|$)/;
const MODEL_FILE_ROUTE = '/api/v1/models/:id/files/:file';

export function installTaskTokenScope(app: FastifyInstance, tokens: TaskTokens | undefined): void {
  if (tokens === undefined) return;
  app.addHook('onRequest', async (request) => {
    const modelToken = /^Bearer\s+(lrm1\.\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (modelToken !== undefined) return scopeModelRead(request, tokens, modelToken);
    const token = /^Bearer\s+(lrt1\.\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    const route = request.routeOptions.url;
    if (token === undefined || route === undefined || request.is404) return;
    const claims = tokens.verify(token);
    if (claims === null) return; // not a task token this server minted: the auth plugin refused it already
    if (LAKE_ROUTE.test(route)) return;
    if (TASK_ROUTE.test(route)) {
      const id = (request.params as { id?: string }).id;
      if (id === claims.taskId) return;
      throw new LakerayError('TASK_NOT_FOUND', `Task '${String(id).slice(0, 200)}' does not exist`);
    }
    throw new LakerayError('FORBIDDEN', "A task token reaches only its tenant's lake and its own task's routes");
  });
}

function scopeModelRead(request: FastifyRequest, tokens: TaskTokens, token: string): void {
  const claims = tokens.verifyModelRead(token);
  if (claims === null || request.is404) return; // refused by the auth plugin already, or nothing there
  const { id, file } = request.params as { id?: string; file?: string };
  const version = (request.query as { version?: unknown } | undefined)?.version;
  if (request.routeOptions.url !== MODEL_FILE_ROUTE || (request.method !== 'GET' && request.method !== 'HEAD'))
    throw new LakerayError('FORBIDDEN', "A model-read token reads its deployment's model file only");
  if (id !== claims.model) throw new LakerayError('MODEL_NOT_FOUND', `Model '${String(id).slice(0, 200)}' does not exist`);
  if (file !== 'model.onnx' || version !== String(claims.version))
    throw new LakerayError('FORBIDDEN', `A model-read token reads model.onnx of version ${claims.version} only`);
}
