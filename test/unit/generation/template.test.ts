import { describe, expect, it } from 'vitest';
import { parseTemplate, placeholders, renderArgv, renderString, renderValue, TemplateSyntaxError, valueAt } from '../../../src/generation/template.ts';

/** What users type; none of it may change the structure a template renders into. */
const NASTY = [
  `it's a "quoted" cat`,
  'line one\nline two\r\nline three',
  '$(rm -rf /)',
  '`rm -rf /`',
  '; rm -rf / #',
  '{{ task_id }}',
  '{prompt}',
  '}}{{',
  'key: value',
  '- item\n- item2',
  '&anchor *alias !!python/object:os.system',
  '--- \n...',
  '"--size" "1*1"',
  '\\" \\\\ \u0000 \u2028',
  '视频 🐈 é',
  '',
];

const WAN_ARGV = ['python', 'generate_ray.py', '--task', 't2v-A14B', '--size', '{size}', '--ckpt_dir', '{ckpt_dir}', '--prompt', '{prompt}'];

describe('templates', () => {
  it.each(NASTY)('passes %j verbatim into params and into exactly one argv element', (prompt) => {
    const vars = { prompt, size: '832*480', ckpt_dir: '/models/Wan2.2', width: 832, seed: 7, image: null };
    const params = renderValue({ prompt: '{prompt}', nested: { list: ['{prompt}', 'x'] }, width: '{width}', image: '{image}' }, vars);
    expect(params).toEqual({ prompt, nested: { list: [prompt, 'x'] }, width: 832, image: null });
    const argv = renderArgv(WAN_ARGV, vars);
    expect(argv).toHaveLength(WAN_ARGV.length);
    expect(argv).toEqual(['python', 'generate_ray.py', '--task', 't2v-A14B', '--size', '832*480', '--ckpt_dir', '/models/Wan2.2', '--prompt', prompt]);
    // A value is never scanned again: its braces stay braces.
    expect(renderString('{prompt}', vars)).toBe(prompt);
    expect(renderString('say: {prompt}!', vars)).toBe(`say: ${prompt}!`);
  });

  it('keeps the type of a whole-value placeholder and stringifies inside text', () => {
    const vars = { n: 81, f: 2.5, b: false, z: null, s: 'x' };
    expect(renderValue(['{n}', '{f}', '{b}', '{z}', '{s}'], vars)).toEqual([81, 2.5, false, null, 'x']);
    expect(renderString('{n}-{f}-{b}-{z}-{s}', vars)).toBe('81-2.5-false--x');
    expect(renderArgv(['{n}', '{z}', '--b={b}'], vars)).toEqual(['81', '', '--b=false']);
    expect(renderValue({ keep: 3, t: true, arr: [] }, vars)).toEqual({ keep: 3, t: true, arr: [] });
  });

  it('reads {{ and }} as literal braces', () => {
    expect(renderString('{{literal}} {s}', { s: 'v' })).toBe('{literal} v');
    expect(parseTemplate('a{{b}}c')).toEqual([{ text: 'a{b}c' }]);
  });

  it.each(['{', '}', '{unclosed', 'a}b', '{Bad}', '{1x}', '{ spaced }', '{}'])('refuses the template %j', (t) => {
    expect(() => parseTemplate(t)).toThrow(TemplateSyntaxError);
  });

  it('lists placeholders with their paths, and finds a value back', () => {
    const template = { prompt: '{prompt}', a: ['x', '{size} {fps}'], deep: { seed: '{seed}' } };
    expect(placeholders(template, 'params')).toEqual([
      { name: 'prompt', path: 'params.prompt' },
      { name: 'size', path: 'params.a[1]' },
      { name: 'fps', path: 'params.a[1]' },
      { name: 'seed', path: 'params.deep.seed' },
    ]);
    const rendered = renderValue(template, { prompt: 'p', size: '1*1', fps: 8, seed: 3 });
    expect(valueAt(template, rendered, 'seed')).toBe(3);
    expect(valueAt(template, rendered, 'prompt')).toBe('p');
    expect(valueAt(template, rendered, 'size')).toBeUndefined(); // not a whole value
    expect(valueAt(WAN_ARGV, renderArgv(WAN_ARGV, { prompt: 'a: b', size: 's', ckpt_dir: 'c' }), 'prompt')).toBe('a: b');
  });
});
