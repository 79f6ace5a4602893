"""Generator constructor kwargs shared by the configs, defined once: the official
`TriPlaneGenerator(**init_kwargs)` arguments (eg3d.md §0, §6; panohead.md §1) of the tiny generators
(128 px, 2X super-resolution: the random-weight test / smoke configs and `default-panohead`; the trained
`default` is configs/eg3d_gan.py's 64 px variant) and of the released full-size checkpoints.
"""
from inversion3d.camera import FFHQ_FOCAL, FFHQ_RADIUS  # the camera constants, declared once
from inversion3d.generators.eg3d_config import NEURAL_RENDERING_RESOLUTION  # the one default (64)

RAY_CHUNK = 4096  # rays per renderer chunk: bounds memory (README "Out of memory")


def eg3d_init_kwargs(full=False, **rendering):
    """EG3D kwargs. full: the released ffhq512 configuration (512 px, 8XDC SR, 48 + 48 depth samples);
    else the tiny default (128 px, 2X SR, channel_max 32, 24 + 24 samples). rendering: entries of
    rendering_kwargs to replace or add."""
    res, base, most = (512, 32768, 512) if full else (128, 1024, 32)
    samples = 48 if full else 24
    rendering_kwargs = dict(
        image_resolution=res, disparity_space_sampling=False, clamp_mode="softplus",
        superresolution_module="training.superresolution.SuperresolutionHybrid" + ("8XDC" if full else "2X"),
        c_gen_conditioning_zero=False, c_scale=1.0, superresolution_noise_mode="none", decoder_lr_mul=1.0,
        sr_antialias=True, depth_resolution=samples, depth_resolution_importance=samples, ray_start=2.25,
        ray_end=3.3, box_warp=1, avg_camera_radius=2.7, avg_camera_pivot=[0, 0, 0.2])
    if full:  # training-only entries the released pickles carry
        rendering_kwargs.update(gpc_reg_prob=0.5, density_reg=0.25, density_reg_p_dist=0.004, reg_type="l1")
    rendering_kwargs.update(rendering)
    return dict(
        z_dim=512 if full else 64, w_dim=512, c_dim=25, img_resolution=res, img_channels=3,
        mapping_kwargs=dict(num_layers=2), channel_base=base, channel_max=most, num_fp16_res=0,
        conv_clamp=None, fused_modconv_default="inference_only", sr_num_fp16_res=4,
        sr_kwargs=dict(channel_base=base, channel_max=most, fused_modconv_default="inference_only"),
        rendering_kwargs=rendering_kwargs)


def panohead_init_kwargs(full=False, **rendering):
    """PanoHead kwargs: EG3D's with tri-grids (D = 3), background, raw ToRGB (panohead.md §1). full:
    'easy-khair-180-gpc0.8-trans10-025000' (tri-grid 256); else the tiny default (tri-grid 64, pivot at
    the origin)."""
    pano = dict(decoder_activation="none", use_torgb_raw=True, triplane_size=256 if full else 64, triplane_depth=3,
                use_background=True)
    if full:
        pano.update(gpc_reg_prob=0.8, density_reg=0.0, trans_reg=10)
    else:
        pano.update(avg_camera_pivot=[0, 0, 0])
    return eg3d_init_kwargs(full, **{**pano, **rendering})


def generator_fields(kind, init_kwargs, neural_rendering_resolution=NEURAL_RENDERING_RESOLUTION, seed=0, weights=""):
    """The fields a generator config holds (read by `inversion3d.app.loading.open_generator`): kind,
    init_kwargs, neural_rendering_resolution, ray_chunk, the weights seed and `weights`: '' = random
    weights from init_kwargs seeded by `seed`; else a generator checkpoint (a converted directory such as
    the packaged default, a .pkl / .pth) whose arrays must fit init_kwargs."""
    return dict(kind=kind, init_kwargs=init_kwargs, neural_rendering_resolution=neural_rendering_resolution,
                ray_chunk=RAY_CHUNK, seed=seed, weights=weights)


def sample_fields(pivot):
    """How samples are drawn and viewed: truncation psi 0.7 on the first 14 ws (the gen scripts' cutoff,
    eg3d.md §2) and the FFHQ camera (focal 4.2647 as gen_videos / projector, orbit radius 2.7, look-at
    pivot; eg3d.md §8)."""
    return dict(truncation_psi=0.7, truncation_cutoff=14, focal=FFHQ_FOCAL, radius=FFHQ_RADIUS, pivot=tuple(pivot))
