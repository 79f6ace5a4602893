"""PanoHead 'easy-khair-180-gpc0.8-trans10-025000' generator as reconstructed in panohead.md §1.

Random weights with the released shapes, for benchmarks and tests of the full-size path; a converted
official checkpoint carries its own (authoritative) kwargs.

  .venv/bin/python experiments/benchmarks/bench_eg3d_forward.py --config configs/panohead_khair.py
Hardware: any; on the 2-core CI CPU one batch-1 forward takes on the order of a minute.
"""
import ml_collections


def get_config():
    config = ml_collections.ConfigDict()
    config.kind = "panohead"
    config.init_kwargs = dict(
        z_dim=512, w_dim=512, c_dim=25, img_resolution=512, img_channels=3,
        mapping_kwargs=dict(num_layers=2), channel_base=32768, channel_max=512, num_fp16_res=0,
        conv_clamp=None, fused_modconv_default="inference_only", sr_num_fp16_res=4,
        sr_kwargs=dict(channel_base=32768, channel_max=512, fused_modconv_default="inference_only"),
        rendering_kwargs=dict(
            image_resolution=512, disparity_space_sampling=False, clamp_mode="softplus",
            superresolution_module="training.superresolution.SuperresolutionHybrid8XDC",
            c_gen_conditioning_zero=False, gpc_reg_prob=0.8, c_scale=1.0, superresolution_noise_mode="none",
            density_reg=0.0, density_reg_p_dist=0.004, reg_type="l1", decoder_lr_mul=1.0, sr_antialias=True,
            depth_resolution=48, depth_resolution_importance=48, ray_start=2.25, ray_end=3.3, box_warp=1,
            avg_camera_radius=2.7, avg_camera_pivot=[0, 0, 0.2], decoder_activation="none",
            use_torgb_raw=True, triplane_size=256, triplane_depth=3, use_background=True, trans_reg=10))
    config.neural_rendering_resolution = 64
    config.ray_chunk = 4096
    config.seed = 0
    config.truncation_psi = 0.7
    config.truncation_cutoff = 14
    config.focal = 4.2647
    config.radius = 2.7
    config.pivot = (0.0, 0.0, 0.0)
    return config
