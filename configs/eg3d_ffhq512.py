"""EG3D ffhq512-128 generator: the released configuration (eg3d.md §0 and §6).

Used by `experiments/benchmarks/bench_eg3d_forward.py` (random weights) and as the reference for
what a converted official checkpoint contains. Real checkpoints carry these values themselves.

  python experiments/benchmarks/bench_eg3d_forward.py --config configs/eg3d_ffhq512.py
Hardware: any; on the 2-core CI CPU one forward at batch 1 takes tens of seconds.
"""
import ml_collections


def rendering_kwargs():
    return dict(
        image_resolution=512, disparity_space_sampling=False, clamp_mode="softplus",
        superresolution_module="training.superresolution.SuperresolutionHybrid8XDC",
        c_gen_conditioning_zero=False, gpc_reg_prob=0.5, c_scale=1.0, superresolution_noise_mode="none",
        density_reg=0.25, density_reg_p_dist=0.004, reg_type="l1", decoder_lr_mul=1.0, sr_antialias=True,
        depth_resolution=48, depth_resolution_importance=48, ray_start=2.25, ray_end=3.3, box_warp=1,
        avg_camera_radius=2.7, avg_camera_pivot=[0, 0, 0.2])


def get_config():
    config = ml_collections.ConfigDict()
    config.kind = "eg3d"
    config.init_kwargs = dict(
        z_dim=512, w_dim=512, c_dim=25, img_resolution=512, img_channels=3,
        mapping_kwargs=dict(num_layers=2), channel_base=32768, channel_max=512, num_fp16_res=0,
        conv_clamp=None, fused_modconv_default="inference_only", sr_num_fp16_res=4,
        sr_kwargs=dict(channel_base=32768, channel_max=512, fused_modconv_default="inference_only"),
        rendering_kwargs=rendering_kwargs())
    config.neural_rendering_resolution = 128
    config.ray_chunk = 4096  # rays per renderer chunk: bounds memory (README "Out of memory")
    config.seed = 0
    config.truncation_psi = 0.7
    config.truncation_cutoff = 14
    config.focal = 4.2647
    config.radius = 2.7
    config.pivot = (0.0, 0.0, 0.2)
    return config
