"""Compute dtype of a trained network (config `encoder.dtype`): the forward pass in bfloat16 on TPU /
GPU while params, batch statistics and optimiser state stay float32 (mixed precision, as the
generator's `compute_dtype`, generators/eg3d.py).

`with_dtype(module, name)` returns the module itself for 'float32' and otherwise a `Cast` view: its
`apply` casts the floating variables and the positional inputs to the compute dtype, runs the
module, and casts every floating output (results and mutated collections such as batch_stats) back
to float32. Keyword inputs pass as they are (a float32 latent average added to bf16 codes promotes
the sum to float32). Gradients flow through the casts, so they are float32 like the params.
"""
import jax
import jax.numpy as jnp

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def check_dtype(name: str):
    """The jnp dtype of a config name ('float32' | 'bfloat16'); ValueError otherwise."""
    if name not in DTYPES:
        raise ValueError(f"encoder.dtype: expected one of {tuple(DTYPES)}, got {name!r}")
    return DTYPES[name]


def cast_floating(tree, dtype):
    """Every floating array leaf of `tree` as `dtype` (integers, bools and non-arrays unchanged)."""
    def cast(x):
        return x.astype(dtype) if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating) else x
    return jax.tree.map(cast, tree)


class Cast:
    """A Flax module run in `dtype` (module doc); other attributes are the wrapped module's."""

    def __init__(self, module, dtype):
        self.module, self.dtype = module, dtype

    def apply(self, variables, *args, **kwargs):
        out = self.module.apply(cast_floating(variables, self.dtype), *cast_floating(args, self.dtype), **kwargs)
        return cast_floating(out, jnp.float32)

    def init(self, *args, **kwargs):  # float32 params whatever the compute dtype
        return self.module.init(*args, **kwargs)

    def __getattr__(self, name):
        if name in ("module", "dtype"):
            raise AttributeError(name)
        return getattr(self.module, name)


def with_dtype(module, name: str = "float32"):
    """`module` computing in dtype `name` ('float32': the module itself)."""
    dtype = check_dtype(name)
    return module if dtype == jnp.float32 else Cast(module, dtype)


def unwrap(module):
    """The Flax module under a `Cast` (for its config)."""
    return module.module if isinstance(module, Cast) else module


def config_dtype(config) -> str:
    """config.encoder.dtype ('float32' when the config has no encoder section)."""
    return str(config.get("encoder", {}).get("dtype", "float32"))
