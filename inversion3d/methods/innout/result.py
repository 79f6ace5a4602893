"""An In-N-Out result on disk (what `invert --method innout` writes and `inversion3d edit` reads):

  latents.npz  method 'innout', per-frame ws (T, num_ws, w_dim), codes (T, code_dim), cameras (T, 25),
               field_file (the name of the field npz beside it), the generator reference (generator,
               generator_kind, generator_overrides) and whatever else the run stores (loss curves ...)
  field.npz    the OOD field and the stage-C SR delta as flat 'field/planes', 'field/decoder/net_0/weight',
               'sr_delta/...' arrays
"""
import os

import numpy as np

from inversion3d import files

METHOD = "innout"
LATENTS, FIELD = "latents.npz", "field.npz"
REQUIRED = ("ws", "codes", "cameras")


def save(out_dir, latents, field, sr_delta, source=None):
    """Writes OUT/latents.npz (latents + method, field_file and the `source` generator reference) and
    OUT/field.npz ({'field': field, 'sr_delta': sr_delta} flattened); returns both paths."""
    import jax
    from flax.traverse_util import flatten_dict

    arrays = dict(latents, method=np.asarray(METHOD), field_file=np.asarray(FIELD), **(source or {}))
    tree = {"field": jax.device_get(field), "sr_delta": jax.device_get(sr_delta)}
    flat = {"/".join(k): np.asarray(v) for k, v in flatten_dict(tree).items()}
    return [files.atomic_write(os.path.join(out_dir, LATENTS), lambda tmp: np.savez(tmp, **arrays)),
            files.atomic_write(os.path.join(out_dir, FIELD), lambda tmp: np.savez(tmp, **flat))]


def is_innout(result) -> bool:
    """True for a latents dict In-N-Out wrote (method 'innout', or an older one: codes and cameras)."""
    return str(result.get("method", "")) == METHOD or ("codes" in result and "cameras" in result
                                                        and "planes" not in result)


def check(result, flag="--latent"):
    """Shapes of an In-N-Out latents dict: ws (T, num_ws, w_dim), codes (T, D), cameras (T, 25)."""
    missing = [k for k in REQUIRED if k not in result]
    if missing:
        raise ValueError(f"{flag}: the In-N-Out result lacks {', '.join(missing)} (expected the latents.npz "
                         f"`invert --method innout` writes)")
    ws, codes, cams = (np.asarray(result[k]) for k in REQUIRED)
    t = ws.shape[0]
    if ws.ndim != 3 or codes.ndim != 2 or codes.shape[0] != t or cams.shape != (t, 25):
        raise ValueError(f"{flag}: expected ws (T, num_ws, w_dim), codes (T, D), cameras (T, 25), got "
                         f"{ws.shape}, {codes.shape}, {cams.shape}")


def read_field(latents_path, result, flag="--latent"):
    """The field npz beside `latents_path` -> (field tree {'planes', 'decoder'}, sr_delta tree or None)."""
    from flax.traverse_util import unflatten_dict

    path = os.path.join(os.path.dirname(os.path.abspath(latents_path)), str(result.get("field_file", FIELD)))
    if not os.path.isfile(path):
        raise ValueError(f"{flag}: an In-N-Out result needs its field file {path}")
    with np.load(path, allow_pickle=False) as data:
        tree = unflatten_dict({tuple(k.split("/")): data[k] for k in data.files})
    if "field" not in tree or "planes" not in tree["field"] or "decoder" not in tree["field"]:
        raise ValueError(f"{flag}: {path} holds no OOD field (field/planes, field/decoder)")
    return tree["field"], tree.get("sr_delta")
