/**
 * Wan2.2 models as catalog entries (seeds 000–002): examples/video/generate_ray.py, whose
 * params.argv are seed 000's RayJob entrypoint arguments (`python generate_ray.py <argv>`),
 * run through the harness on the executor of kind ray, with seed 002's resources (4 workers ×
 * 1 GPU). Written commented into `lakeray config --create-default` and docs/video.md;
 * test/unit/generation checks it validates and renders. Listed as unavailable, with how to
 * configure one, until an executor of kind ray is configured (executor-choice.ts).
 */
export const WAN22_MODELS_YAML = `- id: wan2.2-t2v-a14b
  name: Wan2.2 T2V A14B
  description: Text-to-video, 14B MoE, as a Ray job (seed 000's generate_ray.py entrypoint)
  executor: ray
  template:
    kind: script
    script: video/generate_ray.py
    params:
      argv: [--task, t2v-A14B, --size, "{size}", --ckpt_dir, "{ckpt_dir}", --num-workers, "4",
             --frame_num, "{num_frames}", --base_seed, "{seed}", --watermark, "{watermark}", --prompt, "{prompt}"]
  resources: { cpu: 4, gpu: 4 }
  timeout_s: 3600
  defaults: { size: "832*480", fps: 16, num_frames: 81, ckpt_dir: /models/Wan2.2-T2V-A14B }
  limits: { max_width: 1280, max_height: 1280, max_frames: 121, sizes: ["832*480", "480*832", "1280*720", "720*1280"] }
- id: wan2.2-i2v-a14b
  name: Wan2.2 I2V A14B
  description: Image-to-video, 14B MoE; the image is a path the Ray worker can read
  executor: ray
  template:
    kind: script
    script: video/generate_ray.py
    params:
      argv: [--task, i2v-A14B, --size, "{size}", --ckpt_dir, "{ckpt_dir}", --num-workers, "4",
             --frame_num, "{num_frames}", --base_seed, "{seed}", --watermark, "{watermark}", --image, "{image}", --prompt, "{prompt}"]
  resources: { cpu: 4, gpu: 4 }
  timeout_s: 3600
  defaults: { size: "832*480", fps: 16, num_frames: 81, ckpt_dir: /models/Wan2.2-I2V-A14B }
  limits: { max_width: 1280, max_height: 1280, max_frames: 121, sizes: ["832*480", "480*832", "1280*720", "720*1280"] }
`;
