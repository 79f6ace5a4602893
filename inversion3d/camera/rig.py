"""The camera rig of a generator kind: where its cameras orbit, and its frontal camera.

EG3D and PanoHead render and condition with LookAtPoseSampler cameras on a sphere of radius
`avg_camera_radius` around the world origin, looking at `avg_camera_pivot` (both stored in the
checkpoint's rendering kwargs, eg3d.md §6), with the FFHQ focal 4.2647 (eg3d.md §8). When a checkpoint
has no such entries the kind's defaults apply: EG3D pivot (0, 0, 0.2), PanoHead the origin
(panohead.md §7), radius 2.7 for both. The frontal camera (yaw = pitch = pi/2) is the conditioning
camera of the projector's w statistics, the gen scripts and the 'frontal' inputs.
"""
from typing import NamedTuple, Optional, Tuple

import numpy as np

from inversion3d.camera.defaults import DEFAULT_PIVOT, FFHQ_FOCAL, FFHQ_RADIUS, FRONT, KINDS
from inversion3d.camera.labels import intrinsics_matrix
from inversion3d.camera.poses import lookat_labels, orbit_yaws


class Rig(NamedTuple):
    """pivot (3,) world point looked at; radius: camera distance from the world origin;
    intrinsics (3, 3) float32 normalised. Unpacks as (pivot, radius, intrinsics)."""

    pivot: Tuple[float, float, float]
    radius: float
    intrinsics: np.ndarray

    def labels(self, yaw, pitch):
        """(N, 25) labels of the look-at cameras at angles yaw, pitch (radians, scalars or (N,))."""
        return lookat_labels(yaw, pitch, self.pivot, self.radius, self.intrinsics)

    def frontal(self):
        """(25,) the frontal camera: yaw = pitch = pi/2."""
        return self.labels(FRONT, FRONT)[0]


def rig(kind: str = "eg3d", rendering_kwargs: Optional[dict] = None) -> Rig:
    """The rig of a generator `kind` ('eg3d' | 'panohead'): avg_camera_pivot / avg_camera_radius
    from `rendering_kwargs` (a checkpoint's) when present, else the kind's defaults; FFHQ focal."""
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    rk = dict(rendering_kwargs or {})
    pivot = tuple(float(v) for v in rk.get("avg_camera_pivot", DEFAULT_PIVOT[kind]))
    radius = float(rk.get("avg_camera_radius", FFHQ_RADIUS))
    return Rig(pivot, radius, intrinsics_matrix(FFHQ_FOCAL))


def generator_rig(gen) -> Rig:
    """`rig` of a loaded Generator (its kind and its init_kwargs' rendering_kwargs)."""
    return rig(gen.kind, gen.init_kwargs.get("rendering_kwargs"))


def frontal_label(kind: str = "eg3d", rendering_kwargs: Optional[dict] = None):
    """(25,) float32 frontal camera of a generator kind (see `rig`)."""
    return rig(kind, rendering_kwargs).frontal()


def generator_frontal_label(gen):
    """(25,) float32 frontal camera of a loaded Generator (see `generator_rig`)."""
    return generator_rig(gen).frontal()


def novel_view_yaws(kind: str, views: int, yaw_range: float):
    """(views,) float32 yaws (radians) of a kind's novel views: PanoHead a full turn
    pi/2 + 2 pi i / views (panohead.md §7), EG3D `orbit_yaws(views, yaw_range)` (a frontal sweep)."""
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    if kind == "panohead":
        return (np.pi / 2 + 2 * np.pi * np.arange(views) / views).astype(np.float32)
    return orbit_yaws(views, yaw_range)
