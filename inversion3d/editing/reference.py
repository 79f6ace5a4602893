"""Reference-based tri-plane editing (Dual Encoder paper Sec. 5.3, after Bilecen et al. 2024): a region
(e.g. the hair) of one encoded tri-plane is copied into another through a mask in the canonical
tri-plane space, T = M * T_reference + (1 - M) * T_target.

A region is a set of points of the feature cube [-1, 1]^3 (world = cube * box_warp / 2; +y up, +z
towards the frontal camera), given as a box, a painted frontal image (extruded along z, optionally
inside a box) or the reference's density above a threshold (optionally inside a box). Voxel centres of
a `grid`^3 lattice inside the region are projected onto the planes like the visibility masks
(visibility.py): the cells they land in are marked, at `grid` cells per side, then upsampled to the
plane size. The planes are the generator's own (ops/grid.py axes): EG3D's official axes make planes 1
and 2 both x/z planes, so y reaches plane 0 only. An optional Gaussian feather softens the edge; values within 1e-6 of 0 or 1 are snapped,
so an empty region gives the target exactly and a region covering the cube gives the reference.
"""
import jax.numpy as jnp
import numpy as np

from inversion3d.inversion import visibility

SNAP = 1e-6


def grid_centres(grid):
    """(grid^3, 3) voxel centres of the cube [-1, 1]^3, x fastest then y then z."""
    axis = (np.arange(grid) + 0.5) / grid * 2.0 - 1.0
    z, y, x = np.meshgrid(axis, axis, axis, indexing="ij")
    return np.stack([x, y, z], axis=-1).reshape(-1, 3).astype(np.float32)


def check_box(box):
    """A box (x0, x1, y0, y1, z0, z1) in cube units with lows <= highs -> float32 (6,)."""
    b = np.asarray(box, np.float32).reshape(-1)
    if b.shape != (6,) or not np.all(np.isfinite(b)) or np.any(b[0::2] > b[1::2]):
        raise ValueError(f"box: expected x0,x1,y0,y1,z0,z1 with x0 <= x1 etc. (cube units in [-1, 1]), got {box!r}")
    return b


def in_box(points, box):
    """(P,) bool: points (P, 3) in cube units inside box (x0, x1, y0, y1, z0, z1)."""
    b = check_box(box)
    return np.all((points >= b[0::2]) & (points <= b[1::2]), axis=1)


def in_painting(points, painting):
    """(P,) bool: the frontal orthographic pixel of each point (column <- +x, row 0 at +y = 1) is
    painted (value > 0.5). painting: (H, W) in [0, 1]."""
    p = np.asarray(painting, np.float32)
    if p.ndim != 2:
        raise ValueError(f"painting: expected a (H, W) mask image, got shape {p.shape}")
    h, w = p.shape
    cols = np.clip(((points[:, 0] + 1.0) / 2.0 * w).astype(np.int64), 0, w - 1)
    rows = np.clip(((1.0 - points[:, 1]) / 2.0 * h).astype(np.int64), 0, h - 1)
    return p[rows, cols] > 0.5


def plane_mask(inside, points, plane_size, plane_depth=1, plane_axes="eg3d", grid=64, feather_sigma=0.0):
    """Region points -> plane-cell mask (3, plane_depth, plane_size, plane_size) in [0, 1].

    inside: (P,) bool over `points` (P, 3) in cube units, the voxel centres of `grid_centres(grid)`.
    Marking happens at g = grid cells per side when plane_size is a multiple of it (else at
    plane_size), then each cell is repeated to the plane size."""
    g = grid if plane_size % grid == 0 and grid <= plane_size else plane_size
    chosen = np.asarray(points)[np.asarray(inside)]
    if chosen.shape[0] == 0:
        return np.zeros((3, plane_depth, plane_size, plane_size), np.float32)
    cells = visibility.cell_indices(jnp.asarray(chosen)[None], g, plane_depth, 2.0, plane_axes)
    marked = np.asarray(visibility.mark_cells(cells, g, plane_depth))[0]
    mask = np.repeat(np.repeat(marked, plane_size // g, axis=2), plane_size // g, axis=3)
    if feather_sigma > 0:
        mask = np.asarray(visibility.gaussian_blur(jnp.asarray(mask), feather_sigma))
        mask = np.where(mask < SNAP, 0.0, np.where(mask > 1 - SNAP, 1.0, mask)).astype(np.float32)
    return mask.astype(np.float32)


def density_inside(sigma, threshold):
    """(P,) bool: raw density (P,) (rendering/shapes.py sample_density) above the threshold."""
    return np.asarray(sigma) > float(threshold)


def transfer(target, reference, mask):
    """T = M * reference + (1 - M) * target. target / reference (N, 3, H, W, C*D) tri-planes; mask
    (3, D, H, W) or (N, 3, D, H, W) (D = 1: one mask for every slice) -> (N, 3, H, W, C*D)."""
    if target.shape != reference.shape:
        raise ValueError(f"reference: tri-planes {reference.shape} do not match the target's {target.shape} "
                         f"(invert both with the same generator)")
    mask = jnp.asarray(mask, target.dtype)
    if mask.ndim == 4:
        mask = jnp.broadcast_to(mask[None], (target.shape[0],) + mask.shape)
    if mask.shape[1] != 3 or mask.shape[3:] != target.shape[2:4]:
        raise ValueError(f"mask: shape {mask.shape} does not fit tri-planes {target.shape}")
    return visibility.blend_planes(reference, target, mask)
