"""Embedded default for `make demo`: a seeded tiny EG3D generator (random weights) rendered at a few yaws.

  .venv/bin/python -m inversion3d demo --config configs/demo.py --out out/demo
  .venv/bin/python -m inversion3d demo --config configs/demo.py --config.seed=3
Hardware: the 2-core CPU; about a minute including compilation. Output: out/demo/grid.png (images),
out/demo/depth.png (colour-mapped depth) and one PNG per view. Random weights give abstract
shapes, not faces, until this project ships a trained default.
"""
import ml_collections


def get_config():
    config = ml_collections.ConfigDict()
    config.kind = "eg3d"
    config.init_kwargs = dict(
        z_dim=64, w_dim=512, c_dim=25, img_resolution=128, img_channels=3,
        mapping_kwargs=dict(num_layers=2), channel_base=1024, channel_max=32, num_fp16_res=0,
        conv_clamp=None, fused_modconv_default="inference_only", sr_num_fp16_res=4,
        sr_kwargs=dict(channel_base=1024, channel_max=32, fused_modconv_default="inference_only"),
        rendering_kwargs=dict(
            image_resolution=128, disparity_space_sampling=False, clamp_mode="softplus",
            superresolution_module="training.superresolution.SuperresolutionHybrid2X",
            c_gen_conditioning_zero=False, c_scale=1.0, superresolution_noise_mode="none",
            decoder_lr_mul=1.0, sr_antialias=True, depth_resolution=24, depth_resolution_importance=24,
            ray_start=2.25, ray_end=3.3, box_warp=1, avg_camera_radius=2.7, avg_camera_pivot=[0, 0, 0.2]))
    config.neural_rendering_resolution = 64
    config.ray_chunk = 4096
    config.seed = 0  # weights seed
    config.num_samples = 2  # latent seeds 0..num_samples-1, one row each
    config.truncation_psi = 0.7
    config.truncation_cutoff = 14
    config.yaws_deg = (-35.0, -17.5, 0.0, 17.5, 35.0)  # yaw offsets from the frontal view
    config.pitch_deg = 0.0
    config.focal = 4.2647
    config.radius = 2.7
    config.pivot = (0.0, 0.0, 0.2)
    return config
