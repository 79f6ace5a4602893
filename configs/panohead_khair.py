"""PanoHead 'easy-khair-180-gpc0.8-trans10-025000' generator as reconstructed in panohead.md §1.

Random weights with the released shapes, for benchmarks and tests of the full-size path; a converted
official checkpoint carries its own (authoritative) kwargs.

  .venv/bin/python experiments/benchmarks/bench_eg3d_forward.py --config configs/panohead_khair.py
Hardware: any; on the 2-core CI CPU one batch-1 forward takes on the order of a minute.
"""
import ml_collections

from configs import generators


def get_config():
    config = ml_collections.ConfigDict(generators.generator_fields(
        "panohead", generators.panohead_init_kwargs(full=True)))
    config.update(generators.sample_fields(pivot=(0.0, 0.0, 0.0)))
    return config
