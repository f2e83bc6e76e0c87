/**
 * Requests generated from the server's own OpenAPI document (GET /docs/json), for the fuzzing
 * campaign (campaign.ts). Every operation gets three kinds of request, chosen at random:
 * - valid: path, query and JSON body drawn from their schemas;
 * - boundary: the schemas' edges (empty and longest strings, one past a length or a bound,
 *   0, -1, 2^53, empty and over-long arrays);
 * - malformed: broken JSON, the wrong JSON type, unknown or missing fields, deep nesting, a
 *   wrong content type, a body where none belongs, hostile path segments.
 * Path ids mix real ids (of objects the campaign created) with made-up ones, so requests reach
 * past the 404s.
 */
import fc from 'fast-check';

type Schema = Record<string, any>;

export interface Operation {
  method: string;
  /** e.g. /api/v1/tasks/{id} */
  path: string;
  params: { in: 'path' | 'query' | 'header'; name: string; schema: Schema; required: boolean }[];
  /** The JSON body's schema, when the operation takes JSON. */
  body: Schema | null;
  /** Content types the operation declares for its body (binary routes declare none). */
  contentTypes: string[];
}

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  kind: 'valid' | 'boundary' | 'malformed';
}

const resolveRef = (doc: Schema, s: Schema): Schema => {
  let cur = s;
  for (let i = 0; i < 20 && typeof cur?.$ref === 'string'; i++) {
    const path = (cur.$ref as string).replace(/^#\//, '').split('/');
    cur = path.reduce<any>((o, k) => o?.[k], doc) ?? {};
  }
  return cur ?? {};
};

export function operations(doc: Schema): Operation[] {
  const out: Operation[] = [];
  for (const [path, ops] of Object.entries<Schema>(doc.paths ?? {})) {
    for (const [method, op] of Object.entries<Schema>(ops)) {
      if (!['get', 'post', 'put', 'patch', 'delete', 'head', 'options'].includes(method)) continue;
      const params = ((op.parameters ?? []) as Schema[]).map((p) => resolveRef(doc, p)).filter((p) => ['path', 'query', 'header'].includes(p.in));
      const content = (op.requestBody?.content ?? {}) as Record<string, Schema>;
      out.push({
        method: method.toUpperCase(),
        path,
        params: params.map((p) => ({ in: p.in, name: p.name, schema: resolveRef(doc, p.schema ?? {}), required: p.required === true })),
        body: content['application/json'] ? resolveRef(doc, content['application/json'].schema ?? {}) : null,
        contentTypes: Object.keys(content),
      });
    }
  }
  return out;
}

const SCARY_STRINGS = ['', ' ', '..', '../../etc/passwd', '%2e%2e%2f', '\u0000', 'a'.repeat(5000), '😀', '<script>', "'; DROP TABLE tasks; --", '${x}', '__proto__', 'constructor', '-1', '1e309', 'null', '{}'];
const SCARY_NUMBERS = [0, -1, 1, -0.5, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, -1e308, 0.1, 4294967296];

/** A value valid for `s` (as far as these keywords say), or at its edges when `edge`. */
export function valueOf(doc: Schema, schema: Schema, edge: boolean, depth = 0): fc.Arbitrary<unknown> {
  const s = resolveRef(doc, schema);
  if (depth > 6) return fc.constant(null);
  if (s.const !== undefined) return fc.constant(s.const);
  if (Array.isArray(s.enum) && s.enum.length > 0) return edge ? fc.oneof(fc.constantFrom(...s.enum), fc.constantFrom(...SCARY_STRINGS)) : fc.constantFrom(...s.enum);
  const alts = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (Array.isArray(alts) && alts.length > 0) return fc.oneof(...alts.map((a) => valueOf(doc, a, edge, depth + 1)));
  if (Array.isArray(s.allOf) && s.allOf.length > 0) return valueOf(doc, Object.assign({}, ...s.allOf.map((a: Schema) => resolveRef(doc, a))), edge, depth);
  const type = Array.isArray(s.type) ? s.type.find((t: string) => t !== 'null') : s.type;
  const base = ((): fc.Arbitrary<unknown> => {
    switch (type) {
      case 'string': {
        const min = s.minLength ?? 0;
        const max = Math.min(s.maxLength ?? 64, 4096);
        const ok = fc.string({ minLength: min, maxLength: Math.max(min, Math.min(max, 40)) });
        if (!edge) return s.format === 'uri' ? fc.webUrl() : ok;
        return fc.oneof(ok, fc.constant('x'.repeat(max)), fc.constant('x'.repeat(max + 1)), fc.constant('x'.repeat(Math.max(0, min - 1))), fc.constantFrom(...SCARY_STRINGS));
      }
      case 'integer':
      case 'number': {
        const lo = s.minimum ?? (s.exclusiveMinimum as number | undefined) ?? -1e6;
        const hi = s.maximum ?? (s.exclusiveMaximum as number | undefined) ?? 1e6;
        const ok = type === 'integer' ? fc.integer({ min: Math.ceil(Math.max(lo, -1e9)), max: Math.floor(Math.min(hi, 1e9)) }) : fc.double({ min: Math.max(lo, -1e9), max: Math.min(hi, 1e9), noNaN: true, noDefaultInfinity: true });
        if (!edge) return ok;
        return fc.oneof(ok, fc.constantFrom(lo, hi, lo - 1, hi + 1, ...SCARY_NUMBERS));
      }
      case 'boolean':
        return fc.boolean();
      case 'array': {
        const item = valueOf(doc, s.items ?? {}, edge, depth + 1);
        const min = s.minItems ?? 0;
        const max = Math.min(s.maxItems ?? 4, 8);
        const ok = fc.array(item, { minLength: min, maxLength: Math.max(min, max) });
        if (!edge) return ok;
        return fc.oneof(ok, fc.constant([]), fc.array(item, { minLength: max + 1, maxLength: max + 3 }));
      }
      case 'object':
      default: {
        const props = Object.entries<Schema>(s.properties ?? {});
        if (props.length === 0 && type !== 'object') return fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
        if (props.length === 0 && s.additionalProperties) return fc.dictionary(fc.string({ maxLength: 12 }), valueOf(doc, s.additionalProperties === true ? {} : s.additionalProperties, edge, depth + 1), { maxKeys: 4 });
        const model = Object.fromEntries(props.map(([k, v]) => [k, valueOf(doc, v, edge, depth + 1)]));
        return fc.record(model, { requiredKeys: ((s.required ?? []) as string[]).filter((k) => k in model) });
      }
    }
  })();
  return s.nullable === true || (Array.isArray(s.type) && s.type.includes('null')) ? fc.oneof(base, fc.constant(null)) : base;
}

/** Hostile bodies: not JSON, the wrong type, nested past any limit, or just large. */
const MALFORMED_BODIES: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('{', '[', '{"a":', 'null', '42', '"text"', '[]', '{}', 'true', '\u0000', '{"__proto__": {"polluted": 1}}', '{"constructor": {"prototype": {"x": 1}}}'),
  fc.string({ maxLength: 200 }),
  fc.integer({ min: 50, max: 5000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 1, max: 3 }).map((n) => JSON.stringify({ big: 'x'.repeat(n * 700_000) })),
  fc.json(),
);

const mutate = (value: unknown): fc.Arbitrary<unknown> => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return fc.oneof(fc.constant(value), fc.jsonValue());
  const keys = Object.keys(value);
  return fc.oneof(
    // An unknown field.
    fc.string({ minLength: 1, maxLength: 12 }).map((k) => ({ ...value, [`x_${k}`]: 1 })),
    // A required field missing.
    keys.length === 0 ? fc.constant(value) : fc.constantFrom(...keys).map((k) => Object.fromEntries(Object.entries(value).filter(([kk]) => kk !== k))),
    // A field of the wrong type.
    keys.length === 0 ? fc.constant(value) : fc.tuple(fc.constantFrom(...keys), fc.jsonValue()).map(([k, v]) => ({ ...value, [k]: v })),
  );
};

const encodeSegment = (v: unknown): string => encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v) ?? '');

/** One random request for `op`. `ids` are real ids (task, dataset, model, deployment names…) to reuse. */
export function requestFor(doc: Schema, op: Operation, ids: readonly string[]): fc.Arbitrary<FuzzRequest> {
  const kind = fc.constantFrom<'valid' | 'boundary' | 'malformed'>('valid', 'boundary', 'malformed');
  return kind.chain((k) => {
    const edge = k !== 'valid';
    const pathParams = op.params.filter((p) => p.in === 'path');
    const queryParams = op.params.filter((p) => p.in === 'query');
    const idArb = fc.oneof(
      ids.length > 0 ? fc.constantFrom(...ids) : fc.constant('none'),
      valueOf(doc, { type: 'string', maxLength: 40 }, edge),
      fc.constantFrom('..', '%2e%2e', 'a/b', ' ', 'x'.repeat(300), '0', '-1', 'null', '😀'),
    );
    const path = fc.tuple(...pathParams.map(() => idArb)).map((vals) => {
      let p = op.path;
      pathParams.forEach((param, i) => {
        p = p.replace(param.name === '*' ? '{*}' : `{${param.name}}`, param.name === '*' ? String(vals[i]).split('/').map(encodeURIComponent).join('/') : encodeSegment(vals[i]));
      });
      return p;
    });
    const query = fc
      .tuple(...queryParams.map((q) => fc.option(valueOf(doc, q.schema, edge), { nil: undefined })), edge ? fc.option(fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })), { nil: undefined }) : fc.constant(undefined))
      .map((vals) => {
        const parts: string[] = [];
        queryParams.forEach((q, i) => {
          const v = vals[i];
          if (v !== undefined) parts.push(`${encodeURIComponent(q.name)}=${encodeSegment(v)}`);
        });
        const extra = vals[queryParams.length] as [string, string] | undefined;
        if (extra) parts.push(`${encodeURIComponent(extra[0])}=${encodeURIComponent(extra[1])}`);
        return parts.length ? `?${parts.join('&')}` : '';
      });
    const validBody = op.body ? valueOf(doc, op.body, edge) : fc.constant(undefined);
    const body: fc.Arbitrary<{ body?: string | Buffer; type?: string }> =
      k === 'malformed'
        ? fc.oneof(
            MALFORMED_BODIES.map((b) => ({ body: b, type: 'application/json' })),
            validBody.chain(mutate).map((b) => ({ body: JSON.stringify(b) ?? 'null', type: 'application/json' })),
            validBody.map((b) => ({ body: JSON.stringify(b) ?? '', type: 'text/plain' })),
            fc.uint8Array({ maxLength: 512 }).map((b) => ({ body: Buffer.from(b), type: 'application/octet-stream' })),
            fc.constant({}),
          )
        : validBody.map((b) => (b === undefined ? {} : { body: JSON.stringify(b), type: 'application/json' }));
    return fc.tuple(path, query, body).map(([p, q, b]) => {
      const headers: Record<string, string> = {};
      if (b.type && b.body !== undefined) headers['content-type'] = b.type;
      return { method: op.method, path: `${p}${q}`, headers, ...(b.body === undefined || op.method === 'GET' || op.method === 'HEAD' ? {} : { body: b.body }), kind: k };
    });
  });
}
