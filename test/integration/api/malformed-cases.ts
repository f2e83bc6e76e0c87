/**
 * The malformed requests of the audit (issue 11 §2), one row each: what is sent and the
 * exact answer expected. `malformed.test.ts` sends them to a real server and also checks
 * what every row must share (a 4xx with a registered code and a message, promptly).
 *
 * `{task}` in a path is replaced by the id of a task that finished; `{dataset}` and `{model}`
 * name tables that exist.
 */

export interface Case {
  name: string;
  method: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  status: number;
  code: string;
  /** A fragment the message must contain, when the message is the point. */
  says?: string;
}

const JSON_TYPE = { 'content-type': 'application/json' };

const nested = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
const task = (fields: string): string => `{"script":"ok.py"${fields ? `,${fields}` : ''}}`;

const post = (name: string, path: string, body: string, status: number, code: string, says?: string): Case => ({ name, method: 'POST', path, body, headers: JSON_TYPE, status, code, says });
const get = (name: string, path: string, status: number, code: string, says?: string): Case => ({ name, method: 'GET', path, status, code, says });
const q = encodeURIComponent;

/** A multipart body with one part: the image field, cut short or not. */
const part = (boundary: string, field = 'file', content = 'GIF89a not really', close = true): string =>
  `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="a.gif"\r\nContent-Type: image/gif\r\n\r\n${content}\r\n${close ? `--${boundary}--\r\n` : ''}`;
const multipart = (name: string, contentType: string, body: string | Buffer, status: number, code: string, says?: string): Case => ({
  name,
  method: 'POST',
  path: '/api/v1/uploads',
  body,
  headers: { 'content-type': contentType },
  status,
  code,
  says,
});

const tasks: Case[] = [
  post('task: invalid JSON', '/api/v1/tasks', '{"script":', 400, 'INVALID_REQUEST'),
  post('task: empty JSON body', '/api/v1/tasks', '', 400, 'INVALID_REQUEST'),
  post('task: a JSON array', '/api/v1/tasks', '[]', 400, 'INVALID_REQUEST'),
  post('task: JSON null', '/api/v1/tasks', 'null', 400, 'INVALID_REQUEST'),
  post('task: a bare string', '/api/v1/tasks', '"ok.py"', 400, 'INVALID_REQUEST'),
  { name: 'task: text/plain', method: 'POST', path: '/api/v1/tasks', body: task(''), headers: { 'content-type': 'text/plain' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'task: application/xml', method: 'POST', path: '/api/v1/tasks', body: '<task/>', headers: { 'content-type': 'application/xml' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'task: form-urlencoded', method: 'POST', path: '/api/v1/tasks', body: 'script=ok.py', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  post('task: missing script', '/api/v1/tasks', '{}', 400, 'INVALID_REQUEST', 'body.script'),
  post('task: unknown field', '/api/v1/tasks', task('"bogus":1'), 400, 'INVALID_REQUEST', 'body.bogus: unknown field'),
  post('task: script of the wrong type', '/api/v1/tasks', '{"script":42}', 400, 'INVALID_REQUEST', 'body.script'),
  post('task: params an array', '/api/v1/tasks', task('"params":[1]'), 400, 'INVALID_REQUEST', 'body.params'),
  post('task: params nested 1,000 levels', '/api/v1/tasks', task(`"params":{"a":${nested(1000)}}`), 400, 'INVALID_REQUEST', 'server.max_json_depth = 64'),
  post('task: params nested 3,000 levels', '/api/v1/tasks', task(`"params":{"a":${nested(3000)}}`), 400, 'INVALID_REQUEST', 'nested more than 64 levels'),
  post('task: params nested 5,000 levels', '/api/v1/tasks', task(`"params":{"a":${nested(5000)}}`), 400, 'INVALID_REQUEST', 'nested more than 64 levels'),
  post('task: params nested 300,000 levels (just under 1 MiB)', '/api/v1/tasks', task(`"params":{"a":${nested(300_000)}}`), 400, 'INVALID_REQUEST', 'nested more than 64 levels'),
  post('task: params of 300 KiB', '/api/v1/tasks', task(`"params":{"blob":"${'x'.repeat(300 * 1024)}"}`), 400, 'INVALID_REQUEST', 'tasks.max_params_bytes'),
  post('task: a body over 1 MiB', '/api/v1/tasks', task(`"params":{"blob":"${'x'.repeat(1100 * 1024)}"}`), 413, 'PAYLOAD_TOO_LARGE'),
  post('task: priority 1e400 (Infinity)', '/api/v1/tasks', task('"priority":1e400'), 400, 'INVALID_REQUEST', 'body.priority'),
  post('task: a param of 1e400 (would be stored as null)', '/api/v1/tasks', task('"params":{"lr":1e-3,"steps":[1,2,-1e400]}'), 400, 'INVALID_REQUEST', 'does not fit a 64-bit float'),
  post('task: priority 1e20', '/api/v1/tasks', task('"priority":1e20'), 400, 'INVALID_REQUEST', 'body.priority'),
  post('task: priority 1.5', '/api/v1/tasks', task('"priority":1.5'), 400, 'INVALID_REQUEST', 'body.priority'),
  post('task: negative timeout', '/api/v1/tasks', task('"timeout_s":-1'), 400, 'INVALID_REQUEST', 'body.timeout_s'),
  post('task: a billion GPUs', '/api/v1/tasks', task('"resources":{"gpu":1000000000}'), 400, 'INVALID_REQUEST', 'body.resources.gpu'),
  post('task: cpu as a word', '/api/v1/tasks', task('"resources":{"cpu":"many"}'), 400, 'INVALID_REQUEST', 'body.resources.cpu'),
  post('task: more cpu than the executor has', '/api/v1/tasks', task('"resources":{"cpu":1000}'), 400, 'RESOURCES_UNSATISFIABLE'),
  post('task: script outside the roots (../)', '/api/v1/tasks', '{"script":"../../../../etc/passwd.py"}', 400, 'INVALID_REQUEST', 'outside the script roots'),
  post('task: script at an absolute path', '/api/v1/tasks', '{"script":"/etc/x.py"}', 400, 'INVALID_REQUEST', 'outside the script roots'),
  post('task: script that is not a script', '/api/v1/tasks', '{"script":"ok.sh"}', 400, 'INVALID_REQUEST', '.py, .js'),
  post('task: script with a NUL byte', '/api/v1/tasks', '{"script":"ok.py\\u0000.py"}', 400, 'INVALID_REQUEST', 'NUL'),
  post('task: input outside the data roots', '/api/v1/tasks', task('"input":"../../etc"'), 400, 'INVALID_REQUEST', 'input'),
  post('task: output at an absolute path', '/api/v1/tasks', task('"output":"/etc/lakeray"'), 400, 'INVALID_REQUEST', 'output'),
  post('task: a name with a space', '/api/v1/tasks', task('"name":"my task"'), 400, 'INVALID_REQUEST', 'letters and digits of any script'),
  post('task: a name with a bidi override', '/api/v1/tasks', task('"name":"abc\\u202Eexe.py"'), 400, 'INVALID_REQUEST', 'body.name'),
  post('task: a name with a newline', '/api/v1/tasks', task('"name":"a\\nb"'), 400, 'INVALID_REQUEST', 'body.name'),
  post('task: a 201-character name', '/api/v1/tasks', task(`"name":"${'n'.repeat(201)}"`), 400, 'INVALID_REQUEST', 'body.name'),
  post('task: webhook not http', '/api/v1/tasks', task('"webhook":"ftp://example.com/x"'), 400, 'INVALID_REQUEST', 'body.webhook'),
  post('task: webhook to loopback', '/api/v1/tasks', task('"webhook":"http://127.0.0.1:9/x"'), 400, 'URL_NOT_ALLOWED'),
  post('task: webhook options with an unknown field', '/api/v1/tasks', task('"webhook":{"url":"https://example.com/h","retries":3}'), 400, 'INVALID_REQUEST', 'body.webhook'),
  post('task: webhook with an unknown event', '/api/v1/tasks', task('"webhook":{"url":"https://example.com/h","events":["bogus"]}'), 400, 'INVALID_REQUEST', 'body.webhook'),
  post('task: webhook options nested 2,000 levels', '/api/v1/tasks', task(`"webhook":{"url":"https://example.com/h","events":${nested(2000)}}`), 400, 'INVALID_REQUEST', 'max_json_depth'),
  post('task: unknown executor', '/api/v1/tasks', task('"executor":"mars"'), 400, 'UNKNOWN_EXECUTOR'),
  post('task: unknown pool', '/api/v1/tasks', task('"pool":"nope"'), 400, 'INVALID_REQUEST', 'pool'),
  post('task: a label that is a number', '/api/v1/tasks', task('"labels":{"team":7}'), 400, 'INVALID_REQUEST', 'body.labels'),
  post('task: __proto__ key', '/api/v1/tasks', task('"params":{"__proto__":{"polluted":true}}'), 400, 'INVALID_REQUEST'),
  post('task: constructor.prototype key', '/api/v1/tasks', task('"params":{"constructor":{"prototype":{"polluted":true}}}'), 400, 'INVALID_REQUEST'),
  { name: 'task: Idempotency-Key of 300 characters', method: 'POST', path: '/api/v1/tasks', body: task(''), headers: { ...JSON_TYPE, 'idempotency-key': 'k'.repeat(300) }, status: 400, code: 'INVALID_REQUEST' },
  { name: 'task: Idempotency-Key differing from the body', method: 'POST', path: '/api/v1/tasks', body: task('"idempotency_key":"a"'), headers: { ...JSON_TYPE, 'idempotency-key': 'b' }, status: 400, code: 'INVALID_REQUEST', says: 'differ' },
  post('batch: no tasks', '/api/v1/tasks/batch', '{"tasks":[]}', 400, 'INVALID_REQUEST'),
  post('batch: tasks an object', '/api/v1/tasks/batch', '{"tasks":{}}', 400, 'INVALID_REQUEST'),
  post('batch: one bad task among good ones', '/api/v1/tasks/batch', `{"tasks":[${task('')},{"script":"ok.py","priority":"high"}]}`, 400, 'INVALID_REQUEST', 'tasks[1].priority'),
  post('batch: one task outside the roots', '/api/v1/tasks/batch', `{"tasks":[${task('')},{"script":"../x.py"}]}`, 400, 'INVALID_REQUEST', 'tasks[1].script'),
  post('batch: deep params in the last task', '/api/v1/tasks/batch', `{"tasks":[${task('')},${task(`"params":{"a":${nested(5000)}}`)}]}`, 400, 'INVALID_REQUEST', 'max_json_depth'),
  post('batch: over server.max_batch', '/api/v1/tasks/batch', `{"tasks":[${Array.from({ length: 6 }, () => task('')).join(',')}]}`, 400, 'INVALID_REQUEST', 'body.tasks'),
  { name: 'batch: with an Idempotency-Key header', method: 'POST', path: '/api/v1/tasks/batch', body: `{"tasks":[${task('')}]}`, headers: { ...JSON_TYPE, 'idempotency-key': 'k' }, status: 400, code: 'INVALID_REQUEST' },
  get('list: limit 0', '/api/v1/tasks?limit=0', 400, 'INVALID_REQUEST', 'limit'),
  get('list: limit a word', '/api/v1/tasks?limit=abc', 400, 'INVALID_REQUEST', 'limit'),
  get('list: limit 1e309', '/api/v1/tasks?limit=1e309', 400, 'INVALID_REQUEST', 'limit'),
  get('list: limit twice', '/api/v1/tasks?limit=1&limit=2', 400, 'INVALID_REQUEST', 'limit'),
  get('list: unknown status', '/api/v1/tasks?status=done', 400, 'INVALID_REQUEST', 'status'),
  get('list: unknown parameter', '/api/v1/tasks?sort=name', 400, 'INVALID_REQUEST', 'unknown field'),
  get('list: a cursor that is not one', '/api/v1/tasks?cursor=%F0%9F%92%A9not-a-cursor', 400, 'INVALID_REQUEST', 'cursor'),
  get('get: unknown id', '/api/v1/tasks/t_nope', 404, 'TASK_NOT_FOUND'),
  get('get: path traversal in the id', `/api/v1/tasks/${q('../../etc/passwd')}`, 404, 'TASK_NOT_FOUND'),
  get('get: a 300-character id', `/api/v1/tasks/${'x'.repeat(300)}`, 400, 'INVALID_REQUEST'),
  get('get: broken percent-encoding', '/api/v1/tasks/%E0%A4%A', 400, 'INVALID_REQUEST'),
  { name: 'delete: unknown id', method: 'DELETE', path: '/api/v1/tasks/t_nope', status: 404, code: 'TASK_NOT_FOUND' },
  { name: 'cancel: unknown id', method: 'POST', path: '/api/v1/tasks/t_nope/cancel', status: 404, code: 'TASK_NOT_FOUND' },
  { name: 'cancel: a finished task', method: 'POST', path: '/api/v1/tasks/{task}/cancel', status: 409, code: 'TASK_NOT_CANCELLABLE' },
  { name: 'tasks: PUT', method: 'PUT', path: '/api/v1/tasks', body: task(''), headers: JSON_TYPE, status: 405, code: 'METHOD_NOT_ALLOWED' },
  { name: 'task: PATCH', method: 'PATCH', path: '/api/v1/tasks/{task}', body: '{}', headers: JSON_TYPE, status: 405, code: 'METHOD_NOT_ALLOWED' },
];

const events: Case[] = [
  get('events: after -1', '/api/v1/tasks/{task}/events?after=-1', 400, 'INVALID_REQUEST', 'after'),
  get('events: after a word', '/api/v1/tasks/{task}/events?after=abc', 400, 'INVALID_REQUEST', 'after'),
  get('events: after 1e20', '/api/v1/tasks/{task}/events?after=1e20', 400, 'INVALID_REQUEST', 'after'),
  get('events: unknown type', '/api/v1/tasks/{task}/events?types=gossip', 400, 'INVALID_REQUEST', 'types'),
  get('events: limit 100000', '/api/v1/tasks/{task}/events?limit=100000', 400, 'INVALID_REQUEST', 'limit'),
  { name: 'events: a Last-Event-ID that is not a number', method: 'GET', path: '/api/v1/tasks/{task}/events', headers: { accept: 'text/event-stream', 'last-event-id': 'abc' }, status: 400, code: 'INVALID_REQUEST' },
  { name: 'events: SSE of an unknown task', method: 'GET', path: '/api/v1/tasks/t_nope/events', headers: { accept: 'text/event-stream' }, status: 404, code: 'TASK_NOT_FOUND' },
  get('logs: format xml', '/api/v1/tasks/{task}/logs?format=xml', 400, 'INVALID_REQUEST', 'format'),
  get('logs: after -5', '/api/v1/tasks/{task}/logs?after=-5', 400, 'INVALID_REQUEST', 'after'),
  get('logs: limit 1e6', '/api/v1/tasks/{task}/logs?limit=1000000', 400, 'INVALID_REQUEST', 'limit'),
  get('logs: unknown task', '/api/v1/tasks/t_nope/logs', 404, 'TASK_NOT_FOUND'),
  get('artifacts: path traversal in the name', `/api/v1/tasks/{task}/artifacts/${q('../../../etc/passwd')}`, 404, 'ARTIFACT_NOT_FOUND'),
  get('artifacts: a name of dots (the URL normalizes away)', '/api/v1/tasks/{task}/artifacts/%2e%2e', 404, 'ROUTE_NOT_FOUND'),
  get('artifacts: a name of dots and a slash', `/api/v1/tasks/{task}/artifacts/${q('../state')}`, 404, 'ARTIFACT_NOT_FOUND'),
  get('artifacts: a 300-character name', `/api/v1/tasks/{task}/artifacts/${'a'.repeat(300)}`, 400, 'INVALID_REQUEST'),
  get('artifacts: download=2', '/api/v1/tasks/{task}/artifacts/x?download=2', 400, 'INVALID_REQUEST', 'download'),
  get('artifacts: unknown task', '/api/v1/tasks/t_nope/artifacts', 404, 'TASK_NOT_FOUND'),
  get('webhooks: limit 0', '/api/v1/tasks/{task}/webhooks?limit=0', 400, 'INVALID_REQUEST', 'limit'),
];

const uploads: Case[] = [
  multipart('upload: multipart without a boundary', 'multipart/form-data', part('b'), 400, 'INVALID_MULTIPART', 'boundary'),
  multipart('upload: an empty boundary', 'multipart/form-data; boundary=""', part('b'), 400, 'INVALID_MULTIPART'),
  multipart('upload: a 300-character boundary', `multipart/form-data; boundary=${'b'.repeat(300)}`, part('b'.repeat(300)), 400, 'INVALID_MULTIPART'),
  multipart('upload: a body cut short', 'multipart/form-data; boundary=b', part('b', 'file', 'GIF89a', false).slice(0, -2), 400, 'INVALID_MULTIPART'),
  multipart('upload: a body cut inside the part headers', 'multipart/form-data; boundary=b', '--b\r\nContent-Disposition: form-da', 400, 'INVALID_MULTIPART'),
  multipart('upload: only the closing boundary', 'multipart/form-data; boundary=b', '--b--\r\n', 400, 'INVALID_REQUEST', 'no file'),
  multipart('upload: the wrong field', 'multipart/form-data; boundary=b', part('b', 'image'), 400, 'INVALID_REQUEST', 'unexpected field "image"'),
  multipart('upload: not an image', 'multipart/form-data; boundary=b', part('b', 'file', 'hello, not an image'), 400, 'INVALID_IMAGE'),
  multipart('upload: over generation.uploads.max_bytes', 'multipart/form-data; boundary=b', part('b', 'file', `GIF89a${'x'.repeat(70 * 1024)}`), 413, 'PAYLOAD_TOO_LARGE'),
  { name: 'upload: JSON instead of multipart', method: 'POST', path: '/api/v1/uploads', body: '{"file":"x"}', headers: JSON_TYPE, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'upload: no body at all', method: 'POST', path: '/api/v1/uploads', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  get('upload: path traversal in the id', `/api/v1/uploads/${q('../../etc/passwd')}`, 400, 'UPLOAD_NOT_FOUND'),
  get('upload: unknown id', '/api/v1/uploads/up_nope', 400, 'UPLOAD_NOT_FOUND'),
];

const video: Case[] = [
  post('video: empty object', '/v1/video/generations', '{}', 400, 'INVALID_REQUEST', 'body.prompt'),
  post('video: prompt a number', '/v1/video/generations', '{"prompt":7}', 400, 'INVALID_REQUEST', 'body.prompt'),
  post('video: prompt nested 3,000 levels', '/v1/video/generations', `{"prompt":${nested(3000)}}`, 400, 'INVALID_REQUEST', 'max_json_depth'),
  post('video: blank prompt', '/v1/video/generations', '{"prompt":"   "}', 400, 'INVALID_REQUEST', 'prompt'),
  post('video: prompt over max_prompt_chars', '/v1/video/generations', `{"prompt":"${'p'.repeat(2001)}"}`, 400, 'INVALID_REQUEST', 'prompt'),
  post('video: unknown model', '/v1/video/generations', '{"prompt":"a cat","model":"sora-9"}', 400, 'VIDEO_MODEL_NOT_FOUND'),
  post('video: size not W*H', '/v1/video/generations', '{"prompt":"a cat","size":"big"}', 400, 'INVALID_REQUEST', 'size'),
  post('video: size over the limits', '/v1/video/generations', '{"prompt":"a cat","size":"99999*99999"}', 400, 'INVALID_REQUEST', 'size'),
  post('video: a billion frames', '/v1/video/generations', '{"prompt":"a cat","num_frames":1000000000}', 400, 'INVALID_REQUEST', 'num_frames'),
  post('video: negative seed', '/v1/video/generations', '{"prompt":"a cat","seed":-1}', 400, 'INVALID_REQUEST', 'body.seed'),
  post('video: seed 2^53', '/v1/video/generations', '{"prompt":"a cat","seed":9007199254740992}', 400, 'INVALID_REQUEST', 'body.seed'),
  post('video: unknown field', '/v1/video/generations', '{"prompt":"a cat","steps":50}', 400, 'INVALID_REQUEST', 'body.steps: unknown field'),
  post('video: image a path', '/v1/video/generations', '{"prompt":"a cat","image":"../../etc/passwd"}', 400, 'INVALID_REQUEST', 'image'),
  post('video: image a file: URL', '/v1/video/generations', '{"prompt":"a cat","image":"file:///etc/passwd"}', 400, 'INVALID_REQUEST', 'image'),
  post('video: image a loopback URL', '/v1/video/generations', '{"prompt":"a cat","image":"http://127.0.0.1:9/x.png"}', 400, 'URL_NOT_ALLOWED'),
  post('video: image a data: URI that is no image', '/v1/video/generations', '{"prompt":"a cat","image":"data:image/png;base64,aGVsbG8="}', 400, 'INVALID_IMAGE'),
  post('video: webhook to loopback', '/v1/video/generations', '{"prompt":"a cat","webhook":"http://localhost/x"}', 400, 'URL_NOT_ALLOWED'),
  get('video: list limit 0', '/v1/video/generations?limit=0', 400, 'INVALID_REQUEST', 'limit'),
  get('video: unknown generation', '/v1/video/generations/t_nope', 404, 'TASK_NOT_FOUND'),
  { name: 'video: delete an unknown generation', method: 'DELETE', path: '/v1/video/generations/t_nope', status: 404, code: 'TASK_NOT_FOUND' },
];

const lake: Case[] = [
  get('rows: a filter followed by a statement', `/api/v1/datasets/{dataset}/rows?filter=${q('label = 3; DROP TABLE x')}`, 400, 'INVALID_REQUEST', 'a filter is one expression'),
  get('rows: a filter with stray parentheses', `/api/v1/datasets/{dataset}/rows?filter=${q('label = 3 )))')}`, 400, 'INVALID_REQUEST', 'closes nothing'),
  get('rows: two filters side by side', `/api/v1/datasets/{dataset}/rows?filter=${q('label = 3 label = 4')}`, 400, 'INVALID_REQUEST', 'unexpected "label" after a complete expression'),
  get('rows: two filters with a comma', `/api/v1/datasets/{dataset}/rows?filter=${q('label = 3, label = 4')}`, 400, 'INVALID_REQUEST', 'AND or OR'),
  get('rows: a filter with a comment', `/api/v1/datasets/{dataset}/rows?filter=${q('label = 3 -- x')}`, 400, 'INVALID_REQUEST', 'comments'),
  get('rows: a $$ string (crashed Lance\'s planner)', `/api/v1/datasets/{dataset}/rows?filter=${q('split = $$x$$')}`, 400, 'INVALID_REQUEST', '$$'),
  get('rows: a filter ending in AND', `/api/v1/datasets/{dataset}/rows?filter=${q('label = 3 AND')}`, 400, 'INVALID_REQUEST', 'expression is missing'),
  get('rows: a filter on an unknown column', `/api/v1/datasets/{dataset}/rows?filter=${q('colour = 3')}`, 400, 'INVALID_REQUEST', 'colour'),
  get('rows: a filter over 4096 characters', `/api/v1/datasets/{dataset}/rows?filter=${'label%3D3%20OR%20'.repeat(400)}label%3D3`, 400, 'INVALID_REQUEST', 'filter'),
  get('rows: limit 0', '/api/v1/datasets/{dataset}/rows?limit=0', 400, 'INVALID_REQUEST', 'limit'),
  get('rows: offset -1', '/api/v1/datasets/{dataset}/rows?offset=-1', 400, 'INVALID_REQUEST', 'offset'),
  get('rows: offset 1e300', '/api/v1/datasets/{dataset}/rows?offset=1e300', 400, 'INVALID_REQUEST', 'offset'),
  get('rows: an unknown column', '/api/v1/datasets/{dataset}/rows?columns=colour', 400, 'INVALID_REQUEST', 'colour'),
  get('rows: a column twice', '/api/v1/datasets/{dataset}/rows?columns=label,label', 400, 'INVALID_REQUEST', 'twice'),
  get('rows: version 999', '/api/v1/datasets/{dataset}/rows?version=999', 404, 'VERSION_NOT_FOUND'),
  get('rows: an unknown tag', '/api/v1/datasets/{dataset}/rows?version=golden', 404, 'VERSION_NOT_FOUND'),
  get('rows: version -1', '/api/v1/datasets/{dataset}/rows?version=-1', 404, 'VERSION_NOT_FOUND'),
  get('rows: version 0', '/api/v1/datasets/{dataset}/rows?version=0', 404, 'VERSION_NOT_FOUND'),
  get('rows: version 1e400', '/api/v1/datasets/{dataset}/rows?version=1e400', 404, 'VERSION_NOT_FOUND'),
  get('rows: version of 20 digits', '/api/v1/datasets/{dataset}/rows?version=99999999999999999999', 404, 'VERSION_NOT_FOUND'),
  get('rows: columns of commas only', '/api/v1/datasets/{dataset}/rows?columns=,,,', 400, 'INVALID_REQUEST'),
  get('arrow: an unknown column', '/api/v1/datasets/{dataset}/arrow?columns=colour', 400, 'INVALID_REQUEST', 'colour'),
  { name: 'arrow: a local-file read with a bad filter', method: 'GET', path: `/api/v1/datasets/{dataset}/arrow?filter=${q('label = 3 )')}`, headers: { accept: 'application/vnd.lakeray.arrow-file+json' }, status: 400, code: 'INVALID_REQUEST', says: 'closes nothing' },
  { name: 'arrow: a reading task named without its token', method: 'GET', path: '/api/v1/datasets/{dataset}/arrow', headers: { 'x-lakeray-task': 't_nope' }, status: 401, code: 'UNAUTHORIZED' },
  { name: 'arrow: a reading task with a forged token', method: 'GET', path: '/api/v1/datasets/{dataset}/arrow', headers: { 'x-lakeray-task': 't_nope', authorization: 'Bearer lrt1.dF9ub3Bl.1.AAAA' }, status: 401, code: 'UNAUTHORIZED' },
  get('model file: unknown version', '/api/v1/models/{model}/files/model.onnx?version=abc', 404, 'VERSION_NOT_FOUND'),
  get('rows: unknown dataset', '/api/v1/datasets/nope/rows', 404, 'DATASET_NOT_FOUND'),
  get('rows: path traversal in the name', `/api/v1/datasets/${q('../../etc')}/rows`, 400, 'INVALID_REQUEST', 'name'),
  get('dataset: a 200-character name', `/api/v1/datasets/${'d'.repeat(200)}`, 400, 'INVALID_REQUEST'),
  get('dataset: a name with a NUL byte', '/api/v1/datasets/a%00b', 400, 'INVALID_REQUEST'),
  get('versions: unknown dataset', '/api/v1/datasets/nope/versions', 404, 'DATASET_NOT_FOUND'),
  get('versions: path traversal in the name', `/api/v1/datasets/${q('../x')}/versions`, 400, 'INVALID_REQUEST'),
  { name: 'delete: unknown dataset', method: 'DELETE', path: '/api/v1/datasets/nope', status: 404, code: 'DATASET_NOT_FOUND' },
  { name: 'delete: path traversal in a dataset name', method: 'DELETE', path: `/api/v1/datasets/${q('../../state')}`, status: 400, code: 'INVALID_REQUEST' },
  { name: 'delete: path traversal in a model name', method: 'DELETE', path: `/api/v1/models/${q('../datasets/x')}`, status: 400, code: 'INVALID_REQUEST' },
  get('model: unknown', '/api/v1/models/nope', 404, 'MODEL_NOT_FOUND'),
  get('model versions: unknown', '/api/v1/models/nope/versions', 404, 'MODEL_NOT_FOUND'),
  get('model rows: a trailing statement', `/api/v1/models/{model}/rows?filter=${q("file = 'model.onnx'; DELETE")}`, 400, 'INVALID_REQUEST', 'one expression'),
  get('model file: path traversal', `/api/v1/models/{model}/files/${q('../../../etc/passwd')}`, 404, 'MODEL_NOT_FOUND'),
  get('arrow: a filter followed by a statement', `/api/v1/datasets/{dataset}/arrow?filter=${q('label = 3; DROP TABLE x')}`, 400, 'INVALID_REQUEST', 'one expression'),
  { name: 'arrow upload: JSON', method: 'PUT', path: '/api/v1/datasets/upload_json/arrow', body: '{"rows":[]}', headers: JSON_TYPE, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'arrow upload: garbage bytes', method: 'PUT', path: '/api/v1/datasets/upload_garbage/arrow', body: Buffer.from('definitely not arrow'), headers: { 'content-type': 'application/vnd.apache.arrow.stream' }, status: 400, code: 'INVALID_REQUEST' },
  { name: 'arrow upload: unknown mode', method: 'PUT', path: '/api/v1/datasets/upload_mode/arrow?mode=merge', body: Buffer.alloc(8), headers: { 'content-type': 'application/vnd.apache.arrow.stream' }, status: 400, code: 'INVALID_REQUEST', says: 'mode' },
  post('tag: a number as the tag', '/api/v1/datasets/{dataset}/tags', '{"tag":1,"version":1}', 400, 'INVALID_REQUEST', 'body.tag'),
  post('tag: version 0', '/api/v1/datasets/{dataset}/tags', '{"tag":"v","version":0}', 400, 'INVALID_REQUEST', 'body.version'),
  post('tag: a version that does not exist', '/api/v1/datasets/{dataset}/tags', '{"tag":"v","version":999}', 404, 'VERSION_NOT_FOUND'),
  post('tag: a tag name with a slash', '/api/v1/datasets/{dataset}/tags', '{"tag":"../x","version":1}', 400, 'INVALID_REQUEST', 'tag'),
  post('tag: a tag name with a space', '/api/v1/datasets/{dataset}/tags', '{"tag":"a b","version":1}', 400, 'INVALID_REQUEST', 'tag'),
  { name: 'untag: unknown tag', method: 'DELETE', path: '/api/v1/datasets/{dataset}/tags/golden', status: 404, code: 'VERSION_NOT_FOUND' },
];

const other: Case[] = [
  get('services: unknown parameter', '/api/v1/services?all=1', 400, 'INVALID_REQUEST'),
  get('service: unknown task', '/api/v1/services/t_nope/', 404, 'TASK_NOT_FOUND'),
  get('service: a task that is not a service', '/api/v1/services/{task}/x', 409, 'SERVICE_NOT_RUNNING'),
  get('ws: a plain GET', '/api/v1/ws', 400, 'INVALID_REQUEST', 'WebSocket'),
  get('route: unknown', '/api/v1/nope', 404, 'ROUTE_NOT_FOUND'),
  get('route: broken percent-encoding', '/api/v1/%ZZ', 400, 'INVALID_REQUEST'),
  { name: 'route: DELETE /health', method: 'DELETE', path: '/health', status: 405, code: 'METHOD_NOT_ALLOWED' },
];

export const CASES: readonly Case[] = [...tasks, ...events, ...uploads, ...video, ...lake, ...other];
