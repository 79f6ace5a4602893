"""EG3D ffhq512-128 generator: the released configuration (eg3d.md §0 and §6).

Used by `experiments/benchmarks/bench_eg3d_forward.py` (random weights) and as the reference for
what a converted official checkpoint contains. Real checkpoints carry these values themselves.

  python experiments/benchmarks/bench_eg3d_forward.py --config configs/eg3d_ffhq512.py
Hardware: any; on the 2-core CI CPU one forward at batch 1 takes tens of seconds.
"""
import ml_collections

from configs import generators


def get_config():
    config = ml_collections.ConfigDict(generators.generator_fields(
        "eg3d", generators.eg3d_init_kwargs(full=True), neural_rendering_resolution=128))  # ffhq512-128
    config.update(generators.sample_fields(pivot=(0.0, 0.0, 0.2)))
    return config
