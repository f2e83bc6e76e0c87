/**
 * Wan2.2 models as catalog entries (seeds 000/001): `generate_ray.py` run as a Ray job
 * entrypoint on an existing RayCluster. Written commented into `lakeray config
 * --create-default` and docs/video.md; test/unit/generation checks it validates and renders.
 * Listed as unavailable until an executor named "ray" is configured.
 */
export const WAN22_MODELS_YAML = `- id: wan2.2-t2v-a14b
  name: Wan2.2 T2V A14B
  description: Text-to-video, 14B MoE, as a Ray job on the wan22 RayCluster
  executor: ray
  template:
    kind: entrypoint
    argv: [python, generate_ray.py, --task, t2v-A14B, --size, "{size}", --ckpt_dir, "{ckpt_dir}",
           --num-workers, "4", --frame_num, "{num_frames}", --base_seed, "{seed}", --prompt, "{prompt}"]
    options: { cluster_selector: { ray.io/cluster: wan22-ray-cluster } }
  resources: { cpu: 8, gpu: 4 }
  timeout_s: 3600
  defaults: { size: "832*480", fps: 16, num_frames: 81, ckpt_dir: /models/Wan2.2-T2V-A14B }
  limits: { max_width: 1280, max_height: 1280, max_frames: 121, sizes: ["832*480", "480*832", "1280*720", "720*1280"] }
- id: wan2.2-i2v-a14b
  name: Wan2.2 I2V A14B
  description: Image-to-video, 14B MoE; the image is a local path on the cluster's shared volume
  executor: ray
  template:
    kind: entrypoint
    argv: [python, generate_ray.py, --task, i2v-A14B, --size, "{size}", --ckpt_dir, "{ckpt_dir}",
           --num-workers, "4", --frame_num, "{num_frames}", --base_seed, "{seed}", --image, "{image}", --prompt, "{prompt}"]
  resources: { cpu: 8, gpu: 4 }
  defaults: { size: "832*480", fps: 16, num_frames: 81, ckpt_dir: /models/Wan2.2-I2V-A14B }
  limits: { max_width: 1280, max_height: 1280, max_frames: 121, sizes: ["832*480", "480*832", "1280*720", "720*1280"] }
`;
