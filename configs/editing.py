"""Latent and tri-plane editing (issue 19; editing-and-eval.md §1-3): training InterFaceGAN-style
directions, applying them, reference-based region transfer and the `inversion3d edit` outputs.

  .venv/bin/python -m inversion3d train-direction --latents out/samples --labels scores.csv --out age.npy
  .venv/bin/python -m inversion3d edit --latent out/inv/me.npz --direction age.npy --strength -3:3:7 --out out/edit
  .venv/bin/python -m inversion3d edit --latent out/inv/me.npz --reference out/inv/other.npz --region hair --out out/hair
Hardware: CPU is enough for the direction (a few seconds for 10k latents); edits cost one render per strength
and yaw (tiny default: ~1 s per image on the 2-core CPU after compilation).
Expected metric: the recovered direction of a synthetic attribute has cosine >= 0.95 with the injected one
(tests/editing); InterFaceGAN reports val accuracy ~0.87 for real attributes (§1, E3DGE log).
"""
import ml_collections


def get_config():
    config = ml_collections.ConfigDict()

    config.boundary = ml_collections.ConfigDict()  # train-direction
    # InterFaceGAN keeps the top and bottom 2 % of the scored samples as positives / negatives
    # (§1: 200 + 200 of 10,000) and validates on 30 % of them (70/30 split).
    config.boundary.chosen_ratio = 0.02
    config.boundary.min_per_class = 10  # ours: small latent sets keep at least this many per class
    config.boundary.val_ratio = 0.3
    # ours: InterFaceGAN fits sklearn's linear SVM; we fit L2-regularised logistic regression with optax
    # (a linear classifier, same unit normal up to the loss), full batch Adam.
    config.boundary.steps = 500
    config.boundary.lr = 0.01
    config.boundary.l2 = 1e-3
    config.boundary.seed = 0
    config.boundary.num_ws = 14  # rows of the saved (1, num_ws, w_dim) file (GOAE's layout, §1.1)

    config.classifier = ml_collections.ConfigDict()  # train-direction --classifier: generator samples
    # InterFaceGAN scores 10,000 samples and keeps the top / bottom 2 % (§1, E3DGE's log: 200 + 200)
    config.classifier.num_samples = 10000
    config.classifier.seed = 0
    config.classifier.truncation_psi = 1.0  # ours: untruncated samples (the distribution the boundary lives in)
    config.classifier.batch = 16  # ours: samples per render call

    config.apply = ml_collections.ConfigDict()
    config.apply.layers = ""  # '' = every ws row (GOAE's files, §1.1); e.g. '4-13' as cat_black.npy
    config.apply.strengths = "-3:3:7"  # In-N-Out latent_editor: linspace(-3, 3, 7) for age (§1.2)

    config.reference = ml_collections.ConfigDict()
    # ours: canonical-space boxes (x0, x1, y0, y1, z0, z1) in units of the feature cube [-1, 1]^3
    # (world = box * box_warp / 2); +y is up, +z faces the frontal camera (camera.lookat_pose).
    config.reference.regions = ml_collections.ConfigDict({
        "hair": (-1.0, 1.0, 0.15, 1.0, -1.0, 0.6),  # above the brows and the back of the head
        "face": (-0.55, 0.55, -0.6, 0.3, 0.0, 1.0),  # the front half below the brows
        "lower": (-1.0, 1.0, -1.0, -0.2, -1.0, 1.0),  # mouth, chin, neck
    })
    config.reference.grid = 64  # samples per axis of the cube when marking plane cells (then upsampled)
    config.reference.density_threshold = 10.0  # the shape export's iso-level (rendering/shapes.py)
    config.reference.feather_sigma = 1.5  # ours: Gaussian blur of the mask edge, in plane cells (0 = hard)

    config.outputs = ml_collections.ConfigDict()
    config.outputs.yaws_deg = (-30.0, -15.0, 0.0, 15.0, 30.0)  # strip columns (EG3D); PanoHead: a full turn
    config.outputs.frames = 48  # orbit video of the strongest edit
    config.outputs.fps = 24
    config.outputs.shape_resolution = 128  # density grid of the mesh (render --shape-res default)
    config.outputs.shape_level = 10.0  # iso-level of the mesh: the official shape export's (rendering/shapes.py)
    return config
