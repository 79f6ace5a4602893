"""In-N-Out (CVPR'24): composite OOD inversion of an image or a clip (inversion3d/methods/innout/).

  .venv/bin/python -m inversion3d invert clip.mp4 --method innout --generator ckpt/eg3d-reb128 \
      --out out/innout [--mask-dir masks/] [--depth-dir depth/] [--lpips weights/lpips]
Hardware: a GPU for the real ffhq512-128 generator (the paper: about an hour per clip on an A6000);
on the 2-core CPU use configs/innout_tiny.py with `--generator default`.
Expected metric: the composite reconstruction MSE falls far below the W+ one on the OOD region; OOD
removal returns a face without the object (paper Table 1: PSNR / LPIPS / ID on the edited frames).
Every number below comes from in-n-out.md (the authors' run_train.sh / scripts) unless marked ours.
"""
import ml_collections


def get_config():
    config = ml_collections.ConfigDict()
    config.seed = 20221026  # §2.5 seeds
    config.w_avg_samples = 10000  # issue 18: L_w's w-bar from >= 10k z (EG3D projector's count), cached
    config.w_avg_seed = 123  # projector's RandomState(123)
    config.log_every = 100  # ours: progress line every N steps

    a = config.stage_a = ml_collections.ConfigDict()  # §1 pre-inversion (A1 then A2)
    a.init_samples = 2000  # §1 w_init_samples (500 in the authors' example command)
    a.init_chunk = 8  # ours: samples rendered per compiled call during the nearest-LPIPS search
    a.rho = 0.7  # §1 w_t = w_cano + rho * r_t
    a.lr = 5e-3  # §1 Adam base lr
    a.lr_rampdown_length = 0.25  # §1 projector schedule per epoch
    a.lr_rampup_length = 0.05
    a.epochs = 500  # §1 per pass (A1 and A2), batch 1 frame, shuffled
    a.passes = 2  # §1 A1 then A2 (A2 restarts from A1's w_cano, residuals zero)
    a.mse = 1.0  # §1 MSE(synth512, target512)
    a.lpips = 1.0  # §1 example command (default 0.5), LPIPS-VGG
    a.delta = 1e-3  # §1 lambda_Delta in the example (default 2e-3); layers 1..12 vs layer 0
    a.delta_last_layer = 12  # §1 layer 13 is excluded from the delta sum

    b = config.stage_b = ml_collections.ConfigDict()  # §2 composite inversion
    b.plane_resolution = 256  # §2.1 T_O (1, 3, 32, 256, 256)
    b.plane_channels = 32
    b.code_dim = 32  # §2.2 phi_t in R^32
    b.hidden = 64  # §2.2 FC(64 -> 64) -> softplus -> FC(64 -> 34)
    b.steps = 10000  # §2.5 max_num_iters_raw, batch 1 frame
    b.lr_field = 5e-3  # §2.5 T_O + D_O
    b.lr_codes = 5e-3  # §2.5 phi
    b.lr_ws = 5e-5  # §2.5 per-frame w+ (lr / 100); 0 = frozen (the single-image script)
    b.freeze_ws_single_image = True  # §2.5 single-image script: w+ frozen
    b.b1 = 0.9  # §2.5 Adam betas, torch eps
    b.b2 = 0.999
    b.eps = 1e-8
    b.losses = ml_collections.ConfigDict()  # §2.4 run_train.sh (masked video setting)
    b.losses.l2_raw = 1.0
    b.losses.l2_raw_ood = 1.0
    b.losses.lpips_raw = 1.0
    b.losses.l2_sr = 1.0
    b.losses.l2_sr_ood = 0.0
    b.losses.blend_entropy = 1.0
    b.losses.blend_skew = 2.0  # §2.4 skew s
    b.losses.area = 1.0
    b.losses.sparse = 0.0
    b.losses.depth = 0.0  # §2.4 lamb_depth_reg default 0 (the paper enables it for single images; no weight given)
    b.losses.depth_eps = 1e-6  # §2.4 Charbonnier
    b.losses.w_avg = 0.0  # §2.4 auto variant: ||w_t - w_avg||_F (lambda 1); not in the masked setting
    b.losses.delta = 0.0  # §2.4 auto variant: delta-norm regulariser 2e-3; not in the masked setting
    b.auto_w_avg = 1.0  # §2.4 no-mask ("auto") variant's L_w weight, used when no mask is given
    b.auto_delta = 2e-3  # §2.4 no-mask variant's delta weight
    b.auto_reinit = True  # §2.4 no-mask variant (train_outdomain_auto.py): w_t = w_cano' + rho r_t, re-initialised
    b.auto_cano_ratio = 0.7  # §2.4 w_cano' = 0.7 w_cano + 0.3 N(0, 1) (the script's `ratio`)
    b.auto_rho = 0.7  # §2.4 the script's weight_residual
    b.lr_auto_ws = 5e-4  # §2.4 the script's lr_w, for w_cano' and the residuals (no single-image freeze there)

    c = config.stage_c = ml_collections.ConfigDict()  # §3 SR fine-tuning
    c.epochs = 100  # §3 over all frames, batch 1
    c.lr = 1e-3  # §3 script value (code default 1e-6)
    c.mse = 1.0
    c.lpips = 1.0

    inf = config.inference = ml_collections.ConfigDict()  # §4-5
    inf.removal_dilation = 5  # §5 dilate (1 - mask) with a 5x5 ones kernel
    inf.removal_boost = 1.2  # §5 b *= 1.2 outside the removed region (clamped to 1, the clean version)
    inf.smooth_taps = (0.125, 0.375, 0.5)  # §4 causal filter [0.25, 0.75, 1] / 2 over frames t-2, t-1, t
    inf.smooth_sr_block0 = True  # §4 smooth_out: the same filter on SR block 0's conv output and its image skip
    inf.smooth_sr_chunk = 8  # ours: frames per smoothed-SR call (+ 2 frames of context), bounds memory
    inf.views = 8  # ours: novel-view clip frames per input frame sweep
    inf.edit_strength = 1.0  # ours: --edit-direction strength (w+ + s n; released files are applied at 1, §1.1)

    v = config.video = ml_collections.ConfigDict()  # §4, issue 18 video path (ours where marked)
    v.smooth_window = 5  # ours: landmark / crop / camera sliding-window mean over frames (odd)
    v.max_frames = 0  # ours: 0 = every frame of the clip
    v.fps = 0  # ours: 0 = the clip's own frame rate
    return config
