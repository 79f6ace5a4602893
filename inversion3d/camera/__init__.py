"""Camera maths, in one place (eg3d.md §8, panohead.md §7).

  defaults.py  the camera constants (FFHQ focal, radius, pivots per generator kind)
  labels.py    normalised intrinsics; the 25-D label [cam2world (16), intrinsics (9)]: make / split
  poses.py     look-at poses (LookAtPoseSampler), labels of look-at cameras, orbits
  rig.py       a generator kind's rig (pivot, radius, intrinsics from its rendering kwargs) and its
               frontal camera; novel-view yaws per kind
  mirror.py    the label of a horizontally mirrored image
  deltas.py    Rodrigues rotations and the 6-D camera delta of pose refinement

Conventions: cam2world is OpenCV style (columns = camera right, image-down, forward axes in world
coordinates, last column the camera position); intrinsics are normalised by the image size. Functions
take numpy or jax arrays (jax in -> jax.numpy, jittable); outputs are float32 unless stated.
`from inversion3d import camera; camera.make_label(...)` is the intended use.
"""
from inversion3d.camera.defaults import (DEFAULT_PIVOT, FFHQ_FOCAL, FFHQ_PIVOT, FFHQ_RADIUS, FRONT, KINDS,
                                         PANOHEAD_PIVOT)
from inversion3d.camera.deltas import apply_camera_delta, rodrigues, skew
from inversion3d.camera.labels import array_module, fov_to_intrinsics, intrinsics_matrix, make_label, split_label
from inversion3d.camera.mirror import mirror_label
from inversion3d.camera.poses import ORBITS, lookat_labels, lookat_pose, orbit_angles, orbit_yaws
from inversion3d.camera.rig import (Rig, frontal_label, generator_frontal_label, generator_rig, novel_view_yaws,
                                    rig)

__all__ = ["DEFAULT_PIVOT", "FFHQ_FOCAL", "FFHQ_PIVOT", "FFHQ_RADIUS", "FRONT", "KINDS", "PANOHEAD_PIVOT",
           "apply_camera_delta", "rodrigues", "skew", "array_module", "fov_to_intrinsics", "intrinsics_matrix",
           "make_label", "split_label", "mirror_label", "ORBITS", "lookat_labels", "lookat_pose", "orbit_angles",
           "orbit_yaws", "Rig", "frontal_label", "generator_frontal_label", "generator_rig", "novel_view_yaws", "rig"]
