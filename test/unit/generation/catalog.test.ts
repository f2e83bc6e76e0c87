import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultConfigYaml, parseConfig } from '../../../src/config/load.ts';
import { checkCatalog, parseSize, sizeProblem } from '../../../src/generation/catalog.ts';
import { planGeneration } from '../../../src/generation/request.ts';
import { renderArgv } from '../../../src/generation/template.ts';
import { WAN22_MODELS_YAML } from '../../../src/generation/wan22-example.ts';

const model = (over: Record<string, unknown> = {}) => ({
  id: 'm',
  template: { kind: 'script', script: 'video/generate.py', params: { prompt: '{prompt}' } },
  ...over,
});

const issues = (models: unknown[], extra: Record<string, unknown> = {}): string[] => {
  try {
    parseConfig({ generation: { models, ...extra } }, '/tmp', {});
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.issues;
  }
};

describe('the video catalog', () => {
  it('defaults to the demo model running examples/video/generate.py', () => {
    const c = parseConfig({}, '/tmp', {});
    expect(c.generation.models.map((m) => m.id)).toEqual(['demo']);
    const demo = c.generation.models[0]!;
    expect(demo.template).toMatchObject({ kind: 'script', script: 'video/generate.py' });
    expect(Object.keys((demo.template as { params: object }).params).sort()).toEqual(
      ['fps', 'height', 'image', 'model', 'negative_prompt', 'num_frames', 'prompt', 'seed', 'watermark', 'width'].sort(),
    );
    expect(demo.resources).toEqual({ cpu: 1, memory_mb: 0, gpu: 0, custom: {} });
    expect(c.artifacts).toEqual({ kind: 'local', root: '/tmp/.lakeray/artifacts' });
  });

  it('names the path of every bad field', () => {
    expect(issues([model({ template: { kind: 'script', script: 'g.py', params: { p: '{promt}', q: ['{prompt}', 'a {b'] } } })])).toEqual([
      expect.stringMatching(/^generation\.models\[0\]\.template\.params: bad placeholder/),
    ]);
    expect(issues([model({ template: { kind: 'script', script: 'g.py', params: { p: '{promt}' } } })])).toEqual([
      expect.stringMatching(/^generation\.models\[0\]\.template\.params\.p: unknown placeholder \{promt\}/),
    ]);
    expect(issues([model({ template: { kind: 'entrypoint', argv: ['x', '{nope}'] } })])).toEqual([
      expect.stringMatching(/^generation\.models\[0\]\.template\.argv\[1\]: unknown placeholder \{nope\}/),
    ]);
    expect(issues([model({ executor: 'slurm' })])[0]).toMatch(/^generation\.models\[0\]\.executor: unknown executor "slurm"/);
    expect(issues([model({ executor: 'local', template: { kind: 'entrypoint', argv: ['x'] } })])[0]).toMatch(/executor: the local executor runs scripts/);
    expect(issues([model({ defaults: { size: '833*480' } })])[0]).toMatch(/^generation\.models\[0\]\.defaults\.size: 833\*480 has an odd side/);
    expect(issues([model({ defaults: { size: '832*480' }, limits: { max_width: 640 } })])[0]).toMatch(/defaults\.size: 832\*480 is larger than 640\*1920/);
    expect(issues([model({ limits: { sizes: ['832*480', '7*7'] } })])).toContainEqual(expect.stringMatching(/limits\.sizes\[1\]: 7\*7 has an odd side/));
    expect(issues([model({ defaults: { num_frames: 300 } })])[0]).toMatch(/300 frames is over limits\.max_frames \(241\)/);
    expect(issues([model({ defaults: { num_frames: 8, duration: 1 } })])[0]).toMatch(/num_frames or duration, not both/);
    expect(issues([model(), model()])[0]).toMatch(/generation\.models\[1\]\.id: duplicate model id "m"/);
    expect(issues([model()], { default_model: 'x' })[0]).toMatch(/generation\.default_model: no model "x"/);
    expect(issues([model({ template: { kind: 'script', script: 'g.sh' } })])[0]).toMatch(/template\.script: "g\.sh" must be/);
    // Extra defaults are template variables.
    expect(issues([model({ template: { kind: 'script', script: 'g.py', params: { c: '{ckpt_dir}' } }, defaults: { ckpt_dir: '/m' } })])).toEqual([]);
  });

  it('includes the commented Wan2.2 models in the default config: seed 000’s arguments as params.argv of generate_ray.py', () => {
    const yaml = defaultConfigYaml();
    expect(parse(yaml)).toBeTruthy(); // the comments do not break the file
    expect(yaml).toContain('#   - id: wan2.2-t2v-a14b');
    const uncommented = yaml
      .split('\n')
      .filter((l) => l.startsWith('#   '))
      .map((l) => l.slice(4))
      .join('\n');
    expect(uncommented.trim()).toBe(WAN22_MODELS_YAML.trim());
    const models = parse(WAN22_MODELS_YAML) as unknown[];
    const c = parseConfig({ generation: { models } }, '/tmp', {});
    expect(checkCatalog(c.generation)).toEqual([]);
    const t2v = c.generation.models[0]!;
    expect(t2v).toMatchObject({ executor: 'ray', template: { kind: 'script', script: 'video/generate_ray.py' }, resources: { cpu: 4, gpu: 4 } });
    const plan = planGeneration(t2v, { prompt: 'A cinematic video of an astronaut on Mars.\n--size 1*1' }, 2000, () => 42);
    const argv = renderArgv((t2v.template as { params: Record<string, unknown> }).params.argv as string[], { ...plan.vars, image: null });
    expect(argv).toEqual([
      '--task', 't2v-A14B', '--size', '832*480', '--ckpt_dir', '/models/Wan2.2-T2V-A14B', '--num-workers', '4',
      '--frame_num', '81', '--base_seed', '42', '--watermark', 'true', '--prompt', 'A cinematic video of an astronaut on Mars.\n--size 1*1',
    ]);
  });

  it('a model’s executor is a known kind or a configured executor’s name', () => {
    expect(issues([model({ executor: 'gpu-a' })])).toEqual([expect.stringMatching(/executor: unknown executor "gpu-a" \(known: local, ray, kubernetes\)/)]);
    const c = parseConfig({ generation: { models: [model({ executor: 'ray' })] } }, '/tmp', {});
    const named = { ...c.generation, models: c.generation.models.map((m) => ({ ...m, executor: 'gpu-a' })) };
    expect(checkCatalog(named, ['local', 'gpu-a'])).toEqual([]);
  });

  it('checks sizes against limits', () => {
    const limits = { max_width: 1280, max_height: 720, max_frames: 81, max_fps: 30 };
    expect(parseSize('832*480')).toEqual({ width: 832, height: 480 });
    for (const bad of ['832x480', '*480', '832*', '0*480', '-8*4', '8*4*2']) expect(parseSize(bad)).toBeNull();
    expect(sizeProblem({ width: 832, height: 480 }, limits)).toBeNull();
    expect(sizeProblem({ width: 833, height: 480 }, limits)).toMatch(/odd/);
    expect(sizeProblem({ width: 8, height: 8 }, limits)).toMatch(/smaller/);
    expect(sizeProblem({ width: 1282, height: 480 }, limits)).toMatch(/larger/);
    expect(sizeProblem({ width: 832, height: 480 }, { ...limits, sizes: ['1280*720'] })).toMatch(/not one of/);
  });

  it('plans a request: defaults, duration → frames, a random seed when none is given', () => {
    const c = parseConfig({ generation: { models: [model({ defaults: { size: '64*48', fps: 16, duration: 2 } })] } }, '/tmp', {});
    const m = c.generation.models[0]!;
    expect(planGeneration(m, { prompt: 'p' }, 10, () => 5).vars).toMatchObject({ width: 64, height: 48, size: '64*48', fps: 16, num_frames: 32, duration: 2, seed: 5, watermark: true, negative_prompt: '', model: 'm' });
    expect(planGeneration(m, { prompt: 'p', duration: 1.5, fps: 8, seed: 0, size: '32x32' }, 10, () => 5).vars).toMatchObject({ num_frames: 12, fps: 8, seed: 0, size: '32*32' });
    expect(() => planGeneration(m, { prompt: '🐈'.repeat(11) }, 10, () => 5)).toThrow(/11 characters/);
    expect(planGeneration(m, { prompt: '🐈'.repeat(10) }, 10, () => 5).vars.prompt).toBe('🐈'.repeat(10));
  });
});
