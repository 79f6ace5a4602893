"""The frozen networks of the reconstruction loss (LPIPS, ArcFace), from files the user names.

config.losses.lpips_weights: a folder or file as `inversion3d invert --lpips` takes it (see
`losses_api.load_lpips`), '' = no LPIPS term, or 'random-init:<alex|vgg>' (seeded random weights:
only for tests of the training path; the values mean nothing).
config.losses.arcface_weights: ArcFace IR-SE-50 (`model_ir_se50.pth` or a converted directory),
'' = no ID term, or 'random-init' (seeded random weights at the released IR-SE-50 size; tests only).
Terms whose network is absent are left out of the loss, and `describe` says so in the log.
"""
from typing import Mapping, Optional, Tuple

import jax
import jax.numpy as jnp

RANDOM = "random-init"


def _lpips(spec: str, rng) -> Optional[Tuple[object, Mapping]]:
    from inversion3d.losses.lpips import LPIPS

    if not spec:
        return None
    if spec.startswith(RANDOM):
        net = spec.partition(":")[2] or "alex"
        module = LPIPS(net)
        x = jnp.zeros((1, 64, 64, 3), jnp.float32)
        return module, module.init(rng, x, x)
    from inversion3d.losses_api import load_lpips

    found = load_lpips(spec)
    net = "alex" if "alex" in found else sorted(found)[0]  # training.md §1.2: AlexNet LPIPS
    return LPIPS(net), found[net]


def _arcface(spec: str, rng) -> Optional[Tuple[object, Mapping]]:
    if not spec:
        return None
    if spec == RANDOM:
        from inversion3d.networks import build

        module, args = build("arcface", {})
        return module, module.init(rng, *args)
    from inversion3d.encoders_api import load_encoder

    enc = load_encoder(spec, kind="arcface")
    name = next(iter(enc.modules))
    return enc.modules[name], enc.variables[name]


def load(losses_config, rng) -> dict:
    """{'lpips': (module, variables) | None, 'arcface': (...) | None} for config.losses.
    The variables are frozen arrays (pass them in the step's `frozen` argument); the modules are
    static (close over them)."""
    k_lp, k_id = jax.random.split(rng)
    return {"lpips": _lpips(str(losses_config.get("lpips_weights", "")), k_lp),
            "arcface": _arcface(str(losses_config.get("arcface_weights", "")), k_id)}


def describe(nets: Mapping) -> str:
    """One line for the log: which reconstruction terms this run has."""
    have = [k for k, v in nets.items() if v is not None]
    lacking = [k for k, v in nets.items() if v is None]
    return (f"loss networks: {', '.join(have) or 'none'}"
            + (f"; without {', '.join(lacking)} weights their terms are left out" if lacking else ""))
