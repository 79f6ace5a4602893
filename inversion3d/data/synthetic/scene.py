"""A random head from a key: geometry jitter, hair style, accessories, colours, light, background.

`sample_scene(key, spec)` is pure and jittable (vmap it over keys); the same key always gives the
same scene. Every number of the distribution comes in through `SceneSpec` (configs/synthetic_heads.py
holds them with their reasons); the part geometry is parts.py's table.
"""
from typing import NamedTuple, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.data.synthetic import parts


class SceneSpec(NamedTuple):
    """The scene distribution (hashable: a static jit argument). Probabilities need not sum to 1.

    head_size: mean scale of the head parts (not neck or clothes) about parts.HEAD_CENTRE;
    head_scale / head_aspect: half-widths of the uniform overall / per-axis head scale; jitter: factor
    on the per-part jitter of parts.py; style_probs: per parts.HAIR_STYLES entry; accessory_probs:
    per parts.ACCESSORIES entry (all 0: a part list without accessories, faster); palettes are RGB in
    [0, 1]: skin (interpolated between neighbours), hair, iris (picked, then jittered by
    colour_jitter); ambient / key_light: ranges of the ambient and the directional light intensity;
    light_azimuth / light_elevation: ranges (radians) of the light direction in the world frame.
    """
    head_size: float
    head_scale: float
    head_aspect: float
    jitter: float
    hairline_jitter: float
    style_probs: Tuple[float, ...]
    accessory_probs: Tuple[float, ...]
    skin_palette: Tuple[Tuple[float, float, float], ...]
    hair_palette: Tuple[Tuple[float, float, float], ...]
    iris_palette: Tuple[Tuple[float, float, float], ...]
    colour_jitter: float
    ambient: Tuple[float, float]
    key_light: Tuple[float, float]
    light_azimuth: Tuple[float, float]
    light_elevation: Tuple[float, float]

    @property
    def with_accessories(self):
        return any(p > 0 for p in self.accessory_probs)


def part_ids(with_accessories):
    """Indices (into parts.PARTS) of the parts a scene holds: the accessories only when drawn at all."""
    skip = () if with_accessories else parts.ACCESSORIES
    return np.array([i for i, g in enumerate(parts.GROUPS) if g not in skip], np.int32)


def _uniform(key, shape, lo, hi):
    return jax.random.uniform(key, shape, jnp.float32, lo, hi)


def _colours(key, spec):
    """Albedo per group name, iris colour, background colours."""
    k = jax.random.split(key, 8)
    skin_pal = jnp.asarray(spec.skin_palette, jnp.float32)
    t = _uniform(k[0], (), 0.0, skin_pal.shape[0] - 1.0)
    lo = jnp.floor(t).astype(jnp.int32)
    skin = skin_pal[lo] + (t - lo) * (skin_pal[jnp.minimum(lo + 1, skin_pal.shape[0] - 1)] - skin_pal[lo])

    def pick(key, palette):
        pal = jnp.asarray(palette, jnp.float32)
        ka, kb = jax.random.split(key)
        base = pal[jax.random.randint(ka, (), 0, pal.shape[0])]
        return jnp.clip(base * _uniform(kb, (3,), 1 - spec.colour_jitter, 1 + spec.colour_jitter), 0, 1)

    hair = pick(k[1], spec.hair_palette)
    iris = pick(k[2], spec.iris_palette)
    lip = skin * _uniform(k[3], (), 0.8, 0.95) * jnp.array([1.0, 0.8, 0.8])
    cloth, hat = _uniform(k[4], (3,), 0.05, 0.95), _uniform(k[5], (3,), 0.05, 0.9)
    bg = _uniform(k[6], (2, 3), 0.1, 0.95)
    glasses = jnp.full((3,), 1.0) * _uniform(k[7], (), 0.03, 0.25)
    albedo = {"skin": skin, "lip": lip, "socket": skin, "eye": jnp.array([0.93, 0.91, 0.88]), "brow": hair * 0.75,
              "hair": hair, "cloth": cloth, "hat": hat, "glasses": glasses, "hand": skin}
    return albedo, iris, bg


def sample_scene(key, spec: SceneSpec):
    """One random head. key: a PRNG key -> dict of float32 arrays (P = len(part_ids(spec.with_accessories))):
    centre (P, 3), radii (P, 3) (along the axes of parts.ANGLES' rotations), clip_normal (P, 3),
    clip_offset (P,), on (P,) 1 / 0,
    albedo (P, 3), iris (3,), light (3,) unit direction towards the light, ambient (), key (),
    background (2, 3) colours of the top-left / bottom-right ends of the gradient, bg_angle () radians."""
    ids = part_ids(spec.with_accessories)
    k = jax.random.split(key, 12)
    n_slots = len(parts.SLOTS)
    slot = parts.SLOT_INDEX[ids]
    centre_noise = _uniform(k[0], (n_slots, 3), -1.0, 1.0)[slot] * parts.CENTRE_JITTER[ids, None] * spec.jitter
    centre_noise = centre_noise * jnp.stack([parts.MIRROR_SIGN[ids], jnp.ones(len(ids)), jnp.ones(len(ids))], -1)
    radius_noise = 1.0 + _uniform(k[1], (n_slots, 3), -1.0, 1.0)[slot] * parts.RADIUS_JITTER[ids, None] * spec.jitter
    centre = parts.CENTRE[ids] + centre_noise
    radii = parts.RADII[ids] * radius_noise
    # the head (not neck or clothes) scales about its centre: overall size and proportions
    scale = spec.head_size * _uniform(k[2], (), 1 - spec.head_scale, 1 + spec.head_scale)
    scale = scale * _uniform(k[3], (3,), 1 - spec.head_aspect, 1 + spec.head_aspect)
    is_head = np.array([parts.GROUPS[i] in parts.HEAD_GROUPS and parts.NAMES[i] not in parts.BODY_PARTS
                        for i in ids])[:, None]
    hc = jnp.asarray(parts.HEAD_CENTRE)
    centre = jnp.where(is_head, hc + (centre - hc) * scale, centre)
    radii = jnp.where(is_head, radii * scale, radii)
    clip_offset = parts.CLIP_OFFSET[ids] + jnp.where(
        np.isin(np.array(parts.GROUPS)[ids], ["hair"]), _uniform(k[4], (), -1.0, 1.0) * spec.hairline_jitter, 0.0)
    # hair style and accessories switch parts on
    style = jax.random.categorical(k[5], jnp.log(jnp.asarray(spec.style_probs, jnp.float32) + 1e-30))
    table = parts.style_table()[:, ids]
    is_hair = np.array([parts.GROUPS[i] == "hair" for i in ids])
    on = jnp.where(is_hair, jnp.asarray(table)[style], 1.0)
    if spec.with_accessories:  # each with its probability; one (by probability) when none came up
        probs = jnp.asarray(spec.accessory_probs, jnp.float32)
        ka, kf = jax.random.split(k[6])
        drawn = jax.random.bernoulli(ka, probs)
        forced = jax.random.categorical(kf, jnp.log(probs + 1e-30))
        drawn = drawn | (~jnp.any(drawn) & (jnp.arange(len(probs)) == forced))
        for a, name in enumerate(parts.ACCESSORIES):
            on = jnp.where(np.array([parts.GROUPS[i] == name for i in ids]), drawn[a].astype(jnp.float32), on)
    albedo, iris, background = _colours(k[7], spec)
    bald = style == list(parts.HAIR_STYLES).index("bald")
    albedo["brow"] = jnp.where(bald, albedo["skin"] * 0.45, albedo["brow"])
    albedo_parts = jnp.stack([albedo[parts.GROUPS[i]] for i in ids])
    az = _uniform(k[8], (), *spec.light_azimuth)
    el = _uniform(k[9], (), *spec.light_elevation)
    light = jnp.stack([jnp.sin(az) * jnp.cos(el), jnp.sin(el), jnp.cos(az) * jnp.cos(el)])
    ka, kk, kg = jax.random.split(k[10], 3)
    return {"centre": centre, "radii": radii,
            "clip_normal": jnp.asarray(parts.CLIP_NORMAL[ids]), "clip_offset": clip_offset, "on": on,
            "albedo": albedo_parts, "iris": iris, "light": light, "ambient": _uniform(ka, (), *spec.ambient),
            "key": _uniform(kk, (), *spec.key_light), "background": background,
            "bg_angle": _uniform(kg, (), 0.0, 2 * np.pi), "style": style}
