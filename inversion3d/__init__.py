"""inversion3d: single-photo / video inversion into EG3D and PanoHead, in JAX/Flax.

`load_generator`, `Generator`, `load_encoder` and `Encoder` are imported lazily so that
`import inversion3d.ops` stays light.
"""
__all__ = ["Generator", "load_generator", "Encoder", "load_encoder"]
__version__ = "0.1.0"


def __getattr__(name):
    if name in ("Encoder", "load_encoder"):
        from inversion3d import encoders_api

        return getattr(encoders_api, name)
    if name in __all__:
        from inversion3d import api

        return getattr(api, name)
    raise AttributeError(f"module 'inversion3d' has no attribute {name!r}")
