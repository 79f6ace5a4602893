"""Embedded default PanoHead-style generator for `inversion3d render default-panohead`: tiny, seeded
random weights with every PanoHead piece switched on (tri-grid D=3, background, raw ToRGB,
camera offset). Renders abstract shapes, not heads, until the project ships a trained default.

  .venv/bin/python -m inversion3d render default-panohead --orbit 360 --frames 24 --out out/pano
Hardware: the 2-core CPU; under a minute for 24 frames at 64x64 neural rendering.
"""
import ml_collections


def get_config():
    config = ml_collections.ConfigDict()
    config.kind = "panohead"
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
            ray_start=2.25, ray_end=3.3, box_warp=1, avg_camera_radius=2.7, avg_camera_pivot=[0, 0, 0],
            decoder_activation="none", use_torgb_raw=True, triplane_size=64, triplane_depth=3,
            use_background=True))
    config.neural_rendering_resolution = 64
    config.ray_chunk = 4096
    config.seed = 0
    return config
