"""The frozen generator of an encoder-training run whose config names it by `generator.source`
(TriPlaneNet v2, E3DGE): seeded random weights, or an official .pkl / .pth / converted directory."""
from inversion3d.generators import eg3d


def source_variables(g, gen_cfg, rng):
    """g: the run's config.generator; gen_cfg: the EG3DConfig the method builds from it. Random weights
    from rng when g.source is '', else the file's (built with g.init_kwargs), refused when its num_ws
    differs from gen_cfg's."""
    if not g.get("source", ""):
        return eg3d.init_variables(gen_cfg, rng)
    from inversion3d.api import load_generator  # on demand: the file readers live above the library

    kwargs = g.init_kwargs.to_dict() if hasattr(g.init_kwargs, "to_dict") else g.init_kwargs
    gen = load_generator(g.source, kind=g.get("kind"), init_kwargs=kwargs,
                         neural_rendering_resolution=int(g.neural_rendering_resolution), ray_chunk=g.get("ray_chunk"))
    if gen.config.num_ws != gen_cfg.num_ws:
        raise ValueError(f"generator.source: {g.source} has {gen.config.num_ws} ws, the config's generator "
                         f"{gen_cfg.num_ws}")
    return gen.params
