"""The frozen generator of an encoder-training run, named by `generator.checkpoint` in every encoder
method's config (GOAE, pSp, e4e, TriPlaneNet v2, Dual Encoder, E3DGE): '' = seeded random weights,
else an official .pkl / .pth or an `inversion3d convert` directory."""
from inversion3d.generators import eg3d

KEY = "checkpoint"
RENAMED = {"generator.source": "generator.checkpoint"}  # old config key -> the one key (a one-line error)


def refuse_renamed(g):
    """One-line error when the config section g (config.generator) still has a renamed key."""
    for old, new in RENAMED.items():
        if old.split(".", 1)[1] in g:
            raise ValueError(f"{old}: renamed {new} (the generator file of every encoder run)")


def checkpoint_path(g) -> str:
    """The generator file config.generator names ('' = random weights); refuses the old key."""
    refuse_renamed(g)
    return str(g.get(KEY, "") or "")


def checkpoint_variables(g, gen_cfg, rng):
    """g: the run's config.generator; gen_cfg: the EG3DConfig the method builds from it. Random weights
    from rng when g.checkpoint is '', else the file's (built with g.init_kwargs), refused when its
    num_ws differs from gen_cfg's."""
    path = checkpoint_path(g)
    if not path:
        return eg3d.init_variables(gen_cfg, rng)
    from inversion3d.api import load_generator  # on demand: the file readers live above the library

    kwargs = g.init_kwargs.to_dict() if hasattr(g.init_kwargs, "to_dict") else dict(g.init_kwargs)
    gen = load_generator(path, kind=g.get("kind"), init_kwargs=kwargs,
                         neural_rendering_resolution=int(g.neural_rendering_resolution), ray_chunk=g.get("ray_chunk"))
    if gen.config.num_ws != gen_cfg.num_ws:
        raise ValueError(f"generator.checkpoint: {path} has {gen.config.num_ws} ws, the config's generator "
                         f"{gen_cfg.num_ws}")
    return gen.params
