// A service task for the proxy tests. /health answers 200 once the file `params.gate` exists
// (at once without a gate). Routes: /cookies (201, two Set-Cookie, a header named by
// Connection), /empty (204), /stream (three SSE chunks), /__exit (the process dies: the
// platform restarts it), /__close (stops listening but keeps running); anything else echoes
// {method, url, body, type, headers} as JSON.
import fs from 'node:fs';
import http from 'node:http';

export async function run(inputPath, outputPath, params, ctx) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      if (req.url === '/health') return res.writeHead(!params.gate || fs.existsSync(params.gate) ? 200 : 503).end();
      if (req.url === '/cookies') {
        res.writeHead(201, { 'set-cookie': ['a=1', 'b=2'], 'x-upstream': 'yes', connection: 'keep-alive, x-drop', 'x-drop': 'no' });
        return res.end('made');
      }
      if (req.url === '/empty') return res.writeHead(204).end();
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        let n = 0;
        const timer = setInterval(() => {
          res.write(`data: ${n}\n\n`);
          if (++n === 3) {
            clearInterval(timer);
            res.end();
          }
        }, 20);
        return undefined;
      }
      if (req.url === '/__exit') return res.end('bye', () => process.exit(1));
      if (req.url === '/__close') {
        return res.end('closed', () => {
          server.close();
          server.closeAllConnections();
        });
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, body, type: req.headers['content-type'] ?? null, headers: req.headers }));
    });
  });
  await new Promise((resolve) => server.listen(params.port, '127.0.0.1', resolve));
  await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
  server.close();
  server.closeAllConnections();
  return null;
}
