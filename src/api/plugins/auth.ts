/**
 * Authentication (docs/api.md "Authentication"): puts the request's caller on it before any
 * route runs. This first version keeps today's behaviour (every request is the `default`
 * tenant's keyless admin); key checking follows.
 */
import type { FastifyInstance } from 'fastify';
import { KEYLESS_CALLER } from '../caller.ts';

export function installAuth(app: FastifyInstance): void {
  app.decorateRequest('caller', null);
  app.addHook('onRequest', async (request) => {
    request.caller = KEYLESS_CALLER;
  });
}
