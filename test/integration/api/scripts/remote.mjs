// A task the test drives over TCP. It connects to 127.0.0.1:params.control, says which task
// it is, then runs the commands it is sent (one JSON object per line) in order and answers
// each with {"ack": id}:
//   log {message, stream?}        ctx.log, or console.log / console.error for stream stdout / stderr
//   progress {fraction, message?} · metric {name, value}
//   burst {total, log_every, pad, pause_every}   `total` progress reports, a padded log line every
//       `log_every`, pausing 1 ms every `pause_every` (so the platform stores many of them)
//   logs {count, prefix}          `count` log lines at once
//   stream {every_ms} / stop      a log line every `every_ms` until stop (answers at once)
//   return {value} · throw {message}   end run()
// A cancel (ctx.signal) or the test closing the connection ends run() as well.
import net from 'node:net';

export async function run(inputPath, outputPath, params, ctx) {
  const socket = net.connect(Number(params.control), '127.0.0.1');
  socket.setNoDelay(true);
  socket.write(`${JSON.stringify({ task: ctx.task_id, attempt: ctx.attempt })}\n`);
  let streamer = null;
  let streamed = 0;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    return await new Promise((resolve, reject) => {
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
      socket.on('error', reject);
      socket.on('close', () => reject(new Error('the test closed the control connection')));
      let text = '';
      let queue = Promise.resolve();
      socket.on('data', (chunk) => {
        text += chunk;
        let at;
        while ((at = text.indexOf('\n')) >= 0) {
          const cmd = JSON.parse(text.slice(0, at));
          text = text.slice(at + 1);
          queue = queue.then(async () => {
            switch (cmd.op) {
              case 'log':
                if (cmd.stream === 'stdout') console.log(cmd.message);
                else if (cmd.stream === 'stderr') console.error(cmd.message);
                else ctx.log(cmd.message);
                break;
              case 'progress':
                ctx.progress(cmd.fraction, cmd.message ?? null);
                break;
              case 'metric':
                ctx.metric(cmd.name, cmd.value);
                break;
              case 'logs':
                for (let i = 0; i < cmd.count; i++) ctx.log(`${cmd.prefix} ${i}`);
                break;
              case 'burst':
                for (let i = 1; i <= cmd.total; i++) {
                  if (i % cmd.log_every === 0) ctx.log(`step ${i} ${cmd.pad}`);
                  ctx.progress(i / cmd.total, `step ${i} of ${cmd.total}`);
                  if (i % cmd.pause_every === 0) await sleep(1);
                }
                break;
              case 'stream':
                streamer = setInterval(() => ctx.log(`tick ${streamed++}`), cmd.every_ms);
                break;
              case 'stop':
                clearInterval(streamer);
                break;
              case 'return':
                resolve(cmd.value ?? null);
                break;
              case 'throw':
                reject(new Error(cmd.message));
                break;
              default:
                reject(new Error(`unknown command ${cmd.op}`));
            }
            socket.write(`${JSON.stringify({ ack: cmd.id })}\n`);
          });
        }
      });
    });
  } finally {
    clearInterval(streamer);
    socket.destroy();
  }
}
