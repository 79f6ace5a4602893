"""Files shipped inside the package (setup.py package_data, MANIFEST.in).

  generators/default/   the embedded `default` generator: G_ema of the tiny EG3D GAN run of
                        configs/eg3d_gan.py on the procedural heads (64 px output, 32 px neural rendering),
                        written by `inversion3d export WORKDIR --out DIR` (`make ship-default WORKDIR=...`),
                        the layout `inversion3d convert` writes (Orbax arrays + inversion3d.json), float32.
  encoders/{goae,psp}/  the encoders of that generator (configs/default_*.py: GOAE stage 2 with its frozen
                        stage-1 encoder, and pSp), written by `make train-default-encoders`, stored in
                        bfloat16 (`export --storage bfloat16`; read back as float32).
There is no trained PanoHead: `default-panohead` stays seeded random weights (configs/demo_panohead.py).
"""
import os

ROOT = os.path.dirname(os.path.abspath(__file__))


def generator_dir(name: str) -> str:
    """Absolute path of the packaged generator directory `name` (it may be missing: `check_generator`)."""
    return os.path.join(ROOT, "generators", name)


def check_generator(path: str) -> str:
    """`path` if it is a packaged generator directory with its inversion3d.json; else a one-line ValueError."""
    if not os.path.isfile(os.path.join(path, "inversion3d.json")):
        raise ValueError(f"packaged generator missing: {path} (reinstall inversion3d, or rebuild it with "
                         f"`make ship-default WORKDIR=<an eg3d_gan run>`)")
    return path


def generator_init_kwargs(name: str, fallback):
    """The architecture (init_kwargs, a dict) the packaged generator `name` was exported with, from its
    inversion3d.json (converters.orbax_io.read_meta: JSON only, nothing executed), so its configs follow
    the shipped arrays even when the training config has moved on; `fallback` (a dict) when the asset is
    missing (loading it then fails with `check_generator`'s one-line error)."""
    from converters.orbax_io import is_converted_dir, read_meta

    path = generator_dir(name)
    return read_meta(path)["init_kwargs"] if is_converted_dir(path) else fallback
