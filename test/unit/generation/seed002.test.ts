/** Seed 002's task config → a catalog model (generation/seed002.ts), on the shipped Wan2.2 entries and a few made-up ones. */
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import type { VideoModelConfig } from '../../../src/config/schema.ts';
import { LakerayError } from '../../../src/domain/errors.ts';
import { chooseSeedModel, seedOfTaskId, seedSize, seedTaskOf, servesTask } from '../../../src/generation/seed002.ts';
import { WAN22_MODELS_YAML } from '../../../src/generation/wan22-example.ts';

const [t2v, i2v] = parse(WAN22_MODELS_YAML) as Record<string, any>[];
const ti2v = { ...t2v, id: 'wan2.2-ti2v-5b', template: { ...t2v!.template, params: { argv: t2v!.template.params.argv.map((a: string) => (a === 't2v-A14B' ? 'ti2v-5B' : a)) } }, defaults: { ...t2v!.defaults, ckpt_dir: '/models/Wan2.2-TI2V-5B' } };
const i2vOther = { ...i2v, id: 'i2v-nfs', defaults: { ...i2v!.defaults, ckpt_dir: '/nfs/Wan2.2-I2V-A14B/' } };
const local = { id: 'fake-t2v', template: { kind: 'script', script: 'video/generate.py', params: { prompt: '{prompt}' } } };
const catalog = parseConfig({ executors: { ray: { kind: 'ray', address: 'http://127.0.0.1:1' } }, generation: { models: [t2v, i2v, ti2v, i2vOther, local] } }, '/tmp', {}).generation.models;

const all = () => true;
const pick = (sel: Parameters<typeof chooseSeedModel>[1], available: (m: VideoModelConfig) => boolean = all) => chooseSeedModel(catalog, sel, available, undefined).id;
const refusal = (f: () => unknown): LakerayError => {
  try {
    f();
  } catch (e) {
    if (e instanceof LakerayError) return e;
    throw e;
  }
  throw new Error('expected a LakerayError');
};

describe("seed 002's task → a catalog model", () => {
  it("reads a model's Wan2.2 task from its template's --task argument", () => {
    expect(catalog.map(seedTaskOf)).toEqual(['t2v-A14B', 'i2v-A14B', 'ti2v-5B', 'i2v-A14B', null]);
  });

  it('a task matches by task or id, case-insensitive; a bare family matches its tasks only (t2v is not ti2v)', () => {
    const ids = (q: string) => catalog.filter((m) => servesTask(m, q)).map((m) => m.id);
    expect(ids('i2v-A14B')).toEqual(['wan2.2-i2v-a14b', 'i2v-nfs']);
    expect(ids('T2V-a14b')).toEqual(['wan2.2-t2v-a14b']);
    expect(ids('t2v')).toEqual(['wan2.2-t2v-a14b', 'fake-t2v']);
    expect(ids('ti2v')).toEqual(['wan2.2-ti2v-5b']);
    expect(ids('wan2.2-ti2v-5b')).toEqual(['wan2.2-ti2v-5b']);
    expect(ids('v2v')).toEqual([]);
  });

  it('ckpt_dir picks among the models of the task (a trailing / aside); one no model uses is refused with each model\'s', () => {
    expect(pick({ task: 'i2v-A14B', fixed: {} })).toBe('wan2.2-i2v-a14b');
    expect(pick({ task: 'i2v-A14B', fixed: { ckpt_dir: '/nfs/Wan2.2-I2V-A14B' } })).toBe('i2v-nfs');
    const e = refusal(() => pick({ model_type: 'i2v', fixed: { ckpt_dir: '/data/x' } }));
    expect([e.code, e.message]).toEqual(['INVALID_REQUEST', 'ckpt_dir: "/data/x" is not what any i2v model here uses (wan2.2-i2v-a14b: /models/Wan2.2-I2V-A14B; i2v-nfs: /nfs/Wan2.2-I2V-A14B/); the catalog fixes it per model (generation.models[].defaults.ckpt_dir)']);
    expect(refusal(() => pick({ task: 't2v-A14B', fixed: { s3_bucket: 'b' } })).message).toMatch(/^s3_bucket: no t2v-A14B model here takes it; the video is kept as the task's artifact/);
  });

  it('prefers an available model in catalog order; none available: the first (the video API then says why)', () => {
    expect(pick({ model_type: 't2v', fixed: {} }, (m) => m.id === 'fake-t2v')).toBe('fake-t2v');
    expect(pick({ model_type: 't2v', fixed: {} }, () => false)).toBe('wan2.2-t2v-a14b');
  });

  it('no task: the default model; an unknown task or model is VIDEO_MODEL_NOT_FOUND; task and model_type must agree', () => {
    expect(pick({ fixed: {} })).toBe('wan2.2-t2v-a14b');
    expect(chooseSeedModel(catalog, { fixed: {} }, all, 'fake-t2v').id).toBe('fake-t2v');
    expect(pick({ model: 'i2v-nfs', task: 'i2v-A14B', fixed: {} })).toBe('i2v-nfs');
    expect(refusal(() => pick({ task: 'v2v-1B', fixed: {} })).code).toBe('VIDEO_MODEL_NOT_FOUND');
    expect(refusal(() => pick({ model: 'nope', fixed: {} })).code).toBe('VIDEO_MODEL_NOT_FOUND');
    expect(refusal(() => pick({ model: 'fake-t2v', task: 'i2v-A14B', fixed: {} })).message).toBe('model "fake-t2v" is not for task "i2v-A14B"');
    expect(refusal(() => pick({ task: 'ti2v-5B', model_type: 't2v', fixed: {} })).message).toMatch(/name different tasks/);
    expect(pick({ task: 'ti2v-5B', model_type: 'ti2v', fixed: {} })).toBe('wan2.2-ti2v-5b');
  });

  it('resolution is a size; both must agree; the task_id gives the same seed every time', () => {
    expect(seedSize(undefined, '720p')).toBe('1280*720');
    expect(seedSize(undefined, '480P')).toBe('832*480');
    expect(seedSize('832x480', '480p')).toBe('832*480');
    expect(seedSize('832*480', undefined)).toBe('832*480');
    expect(seedSize(undefined, undefined)).toBeUndefined();
    expect(() => seedSize('832*480', '720p')).toThrow(/differ/);
    expect(() => seedSize(undefined, '4k')).toThrow(/not one of 480p, 720p, 1080p/);
    expect(seedOfTaskId('rayservice_test_001')).toBe(seedOfTaskId('rayservice_test_001'));
    expect(seedOfTaskId('rayservice_test_001')).not.toBe(seedOfTaskId('rayservice_test_002'));
  });
});
