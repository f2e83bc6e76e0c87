/**
 * Task templates of the video catalog: `{name}` placeholders substituted into VALUES of a
 * parsed structure (a params object, an argv array), never into a string that is parsed
 * again (no shell, no YAML). Whatever a user types — quotes, newlines, `$(…)`, backticks,
 * `{{`, YAML syntax — arrives as one value, verbatim.
 *
 * Syntax of a template string: `{name}` (name: [a-z_][a-z0-9_]*) is a placeholder; `{{` and
 * `}}` are literal braces; any other brace is an error (caught when the config is loaded).
 * A string that is exactly one placeholder takes the variable's value with its type (a
 * number stays a number, null stays null); inside a longer string a value is its text
 * (null → "", true → "true").
 */

export type TemplateValue = string | number | boolean | null;
export type Vars = Readonly<Record<string, TemplateValue>>;

type Part = { text: string } | { name: string };

const NAME = /^[a-z_][a-z0-9_]*$/;

export class TemplateSyntaxError extends Error {}

/** Splits a template string into literal text and placeholders; throws on a stray brace. */
export function parseTemplate(s: string): Part[] {
  const parts: Part[] = [];
  let text = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '{' && s[i + 1] === '{') {
      text += '{';
      i++;
    } else if (c === '}' && s[i + 1] === '}') {
      text += '}';
      i++;
    } else if (c === '{') {
      const end = s.indexOf('}', i);
      const name = end < 0 ? '' : s.slice(i + 1, end);
      if (!NAME.test(name)) throw new TemplateSyntaxError(`bad placeholder at offset ${i} of "${s}" (use {name}, or {{ and }} for literal braces)`);
      if (text) parts.push({ text });
      text = '';
      parts.push({ name });
      i = end;
    } else if (c === '}') {
      throw new TemplateSyntaxError(`unmatched "}" at offset ${i} of "${s}" (use }} for a literal brace)`);
    } else text += c;
  }
  if (text || parts.length === 0) parts.push({ text });
  return parts;
}

const asText = (v: TemplateValue | undefined): string => (v === null || v === undefined ? '' : String(v));

/** One template string rendered: typed when it is exactly one placeholder. */
export function renderString(s: string, vars: Vars): TemplateValue {
  const parts = parseTemplate(s);
  const first = parts[0];
  if (parts.length === 1 && first !== undefined && 'name' in first) return vars[first.name] ?? null;
  return parts.map((p) => ('name' in p ? asText(vars[p.name]) : p.text)).join('');
}

/** Renders every string inside a JSON-like value (objects, arrays); keys are left as they are. */
export function renderValue(v: unknown, vars: Vars): unknown {
  if (typeof v === 'string') return renderString(v, vars);
  if (Array.isArray(v)) return v.map((x) => renderValue(x, vars));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, renderValue(x, vars)]));
  return v;
}

/** An argv: each element is one argument (a string), whatever its value contains. */
export const renderArgv = (argv: readonly string[], vars: Vars): string[] => argv.map((a) => asText(renderString(a, vars)));

/** Every placeholder name in a JSON-like value, with the path where it occurs ("params.prompt", "argv[3]"). */
export function placeholders(v: unknown, path: string): { name: string; path: string }[] {
  if (typeof v === 'string') return parseTemplate(v).flatMap((p) => ('name' in p ? [{ name: p.name, path }] : []));
  if (Array.isArray(v)) return v.flatMap((x, i) => placeholders(x, `${path}[${i}]`));
  if (v !== null && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => placeholders(x, `${path}.${k}`));
  return [];
}

/**
 * The value a rendered structure holds where its template is exactly `{name}` (the first
 * such place), e.g. the prompt back from a task's params. Undefined when no value of the
 * template is exactly that placeholder.
 */
export function valueAt(template: unknown, rendered: unknown, name: string): unknown {
  if (typeof template === 'string') return template === `{${name}}` ? rendered : undefined;
  if (Array.isArray(template)) {
    for (let i = 0; i < template.length; i++) {
      const found = valueAt(template[i], Array.isArray(rendered) ? rendered[i] : undefined, name);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (template !== null && typeof template === 'object') {
    const r = rendered !== null && typeof rendered === 'object' ? (rendered as Record<string, unknown>) : {};
    for (const [k, t] of Object.entries(template)) {
      const found = valueAt(t, r[k], name);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
