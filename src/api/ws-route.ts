/**
 * A WebSocket-only route: an Upgrade request is handed to `wsHandler`; a plain GET gets the
 * API's error format (400 INVALID_REQUEST) instead of Fastify's 404, and the route stays out
 * of the OpenAPI document.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { LakerayError } from '../domain/errors.ts';

export function wsOnlyRoute(app: FastifyInstance, url: string, wsHandler: (socket: WebSocket, request: FastifyRequest) => void): void {
  app.route({
    method: 'GET',
    url,
    schema: { hide: true },
    handler: async () => {
      throw new LakerayError('INVALID_REQUEST', 'this endpoint speaks WebSocket: send an Upgrade request');
    },
    wsHandler,
  });
}
