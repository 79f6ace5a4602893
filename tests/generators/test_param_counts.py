"""The released configurations build exactly the official parameter counts (eg3d.md §0, panohead.md §1).

Counts exclude the 4x4 `resample_filter` buffers, which are constants in the port (16 values each).
"""
import jax
import numpy as np
import pytest

from inversion3d.app.loading import CONFIG_DIR, load_config
from inversion3d.generators import eg3d
from inversion3d.generators.eg3d_config import EG3DConfig


@pytest.mark.parametrize("config_file,params,buffers,filters", [
    ("eg3d_ffhq512.py", 30_662_136, 831_024, 26),
    ("panohead_khair.py", 53_741_548, 874_963, 43)])
def test_released_parameter_counts(config_file, params, buffers, filters):
    config = load_config(f"{CONFIG_DIR}/{config_file}")
    cfg = EG3DConfig.from_official(config.init_kwargs.to_dict(), kind=config.kind)
    shapes = jax.eval_shape(lambda: eg3d.init_variables(cfg, jax.random.PRNGKey(0)))
    count = lambda tree: sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))
    assert count(shapes["params"]) == params
    assert count(shapes["buffers"]) + 16 * filters == buffers
