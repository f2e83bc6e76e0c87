/**
 * A free TCP port on 127.0.0.1 for a service task: bind port 0, read what the kernel gave,
 * close. The service binds it a moment later (a small race with other programs, accepted);
 * its restarts reuse the same port, so the proxy's target never changes.
 */
import { createServer } from 'node:net';

export const SERVICE_HOST = '127.0.0.1';

export const allocatePort = (host = SERVICE_HOST): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port was assigned'))));
    });
  });
