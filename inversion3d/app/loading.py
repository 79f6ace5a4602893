"""What the commands, benchmarks and experiments load: config files, generators and encoders.

Config files are Python files with `get_config()` (the `configs` package, or any path). Overrides use
ml_collections' own syntax, as `experiments/train.py` does: `--config.a.b=value`, parsed by
`ml_collections.config_flags` (values are type-checked against the config's field). Errors a user
can cause (missing file, unknown key, wrong type) are one-line `ValueError`s naming the flag.
"""
import os
import warnings

import configs

CONFIG_DIR = os.path.dirname(os.path.abspath(configs.__file__))
# 'default': the tiny EG3D this project trained (configs/demo.py: its weights are the packaged
# inversion3d/assets/generators/default); 'default-panohead': seeded random weights (no trained PanoHead)
DEFAULT_GENERATORS = {"default": "demo.py", "default-panohead": "demo_panohead.py"}
GENERATOR_CONFIG_KEYS = ("kind", "init_kwargs", "seed", "neural_rendering_resolution", "ray_chunk")
# Printed before the first compiled call of a command: XLA compiles silently for tens of seconds.
COMPILING = "[{command}] compiling (first call; ~30 s on a 2-core CPU, once per shape)..."


def is_override(arg, name="config"):
    """True for `--NAME.key=value` (and absl's boolean `--noNAME.key`) command-line arguments."""
    return arg.startswith((f"--{name}.", f"--no{name}."))


def _override_path(arg, name):
    return arg.split("=", 1)[0].split(".", 1)[1]


def load_config(path, overrides=(), name="config"):
    """`get_config()` of the file at `path` (ml_collections' `file.py[:arg]` form), locked, with
    `overrides` (`--NAME.a.b=value` strings) applied by ml_collections' config flags."""
    from absl import flags
    from ml_collections import config_flags
    from ml_collections.config_flags import config_path

    file = str(path).split(":", 1)[0]
    if not os.path.isfile(file):
        raise ValueError(f"--{name}: no such file: {file}")
    values = flags.FlagValues()
    argv = ["inversion3d", f"--{name}={path}"]
    config_flags.DEFINE_config_file(name, None, "config file", flag_values=values, lock_config=True, sys_argv=argv)
    try:
        with warnings.catch_warnings():  # ml_collections loads the file with the deprecated load_module()
            warnings.filterwarnings("ignore", "the load_module", DeprecationWarning)
            values(argv)
    except AttributeError as err:
        if "get_config" in str(err):
            raise ValueError(f"--{name}: {file} defines no get_config()") from None
        raise
    config = values[name].value
    for arg in overrides:
        if not is_override(arg, name):
            raise ValueError(f"override {arg!r}: expected --{name}.KEY=VALUE")
        key = _override_path(arg, name)
        try:
            config_path.get_value(key, config)
        except (KeyError, AttributeError, IndexError, TypeError, ValueError):  # TypeError: a key below a leaf
            raise ValueError(f"--{name}.{key}: config has no key {key!r} ({file})") from None
    if overrides:
        values = flags.FlagValues()
        argv = ["inversion3d", *overrides]
        try:  # defining the flag already checks the overrides (types it cannot parse, spaces in names)
            config_flags.DEFINE_config_dict(name, config, flag_values=values, lock_config=True, sys_argv=argv)
            values(argv)
        except flags.Error as err:
            raise ValueError(str(err).strip().splitlines()[0]) from None
        except (LookupError, TypeError, AttributeError) as err:  # e.g. an index into a string field
            raise ValueError(f"--{name} overrides: {' '.join(str(err).split())}") from None
        config = values[name].value
    return config


def generator_config(path, overrides=(), name="config"):
    """`load_config` of a generator config .py, checked to have the keys `open_generator` needs (one
    line naming the missing ones, e.g. for a training config given as a generator)."""
    config = load_config(path, overrides, name)
    missing = [k for k in GENERATOR_CONFIG_KEYS if k not in config]
    if missing:
        raise ValueError(f"{path}: not a generator config (no {', '.join(missing)}); expected a file like "
                         f"configs/demo.py, a checkpoint, 'default' or 'default-panohead'")
    return config


def _source_path(source, name):
    if source in DEFAULT_GENERATORS:
        return os.path.join(CONFIG_DIR, DEFAULT_GENERATORS[source])
    if not str(source).endswith(".py") and not os.path.exists(source):
        raise ValueError(f"{'CKPT' if name == 'config' else '--' + name}: no such file or directory: {source}")
    return source


def check_source(source, overrides=(), name="config"):
    """The generator flag's checks that need no loading: the file exists; overrides only for a config."""
    source = _source_path(source, name)
    if overrides and not str(source).endswith(".py"):
        raise ValueError(f"{overrides[0].split('=', 1)[0]}: overrides need a config .py generator, got {source}")
    return source


def resolve_kind(source, kind="auto", overrides=(), name="config"):
    """The generator kind ('eg3d' / 'panohead') of `source` without building the generator: from the
    config file (defaults, .py), a converted directory's JSON, or an official file's constructor
    kwargs (read safely, no network built). `kind` other than 'auto' wins."""
    if kind != "auto":
        return kind
    source = _source_path(source, name)
    if str(source).endswith(".py"):
        return generator_config(source, overrides, name).kind
    from converters.load import read_generator_source
    from converters.orbax_io import is_converted_dir, read_meta

    if is_converted_dir(source):  # its JSON names the kind: no arrays read
        return read_meta(source).get("kind")
    return read_generator_source(source).kind


def generator_from_config(config, compute_dtype="float32", name="config"):
    """The generator of a generator config: its `weights` checkpoint (the packaged default's directory,
    checked to exist) built with the config's init_kwargs / rendering fields, or, with weights '' (or
    none), random weights from init_kwargs seeded by `seed`."""
    from inversion3d import assets
    from inversion3d.api import load_generator

    weights = config.get("weights") or None
    if weights is not None:
        if str(weights).startswith(assets.ROOT):
            assets.check_generator(weights)
        elif not os.path.exists(weights):
            raise ValueError(f"--{name}.weights: no such file or directory: {weights}")
    return load_generator(weights, kind=config.kind, init_kwargs=config.init_kwargs, seed=config.seed,
                          neural_rendering_resolution=config.neural_rendering_resolution,
                          ray_chunk=config.ray_chunk, compute_dtype=compute_dtype)


def open_generator(source, kind="auto", overrides=(), compute_dtype="float32", name="config"):
    """A generator from 'default' (the packaged trained tiny EG3D) / 'default-panohead' (random weights),
    a config .py (`generator_from_config`; `overrides` as in `load_config`, flag `name`), or a
    checkpoint path handed to `load_generator` (with `compute_dtype`)."""
    from inversion3d.api import load_generator

    source = _source_path(source, name)
    if str(source).endswith(".py"):
        return generator_from_config(generator_config(source, overrides, name), compute_dtype, name)
    if overrides:
        raise ValueError(f"{overrides[0].split('=', 1)[0]}: overrides need a config .py generator, got {source}")
    if not os.path.exists(source):
        raise ValueError(f"CKPT: no such file or directory: {source}")
    kwargs = {} if kind == "auto" else {"kind": kind}
    return load_generator(source, compute_dtype=compute_dtype, **kwargs)


def open_encoders(method, sources):
    """The encoders of an inversion `method` from their files (`sources` in the order of
    `methods.registry.FILE_KINDS[method]`), kinds checked before any generator is loaded."""
    from inversion3d.encoders_api import load_encoder
    from inversion3d.methods.registry import FILE_KINDS, check_kinds

    encoders = [load_encoder(src, kind) for src, kind in zip(sources, FILE_KINDS[method])]
    check_kinds(method, encoders)
    return encoders
