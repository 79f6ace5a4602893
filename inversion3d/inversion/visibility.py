"""Which tri-plane cells the input view sees: GOAE's mix-fusion mask (encoders.md §1.4), reused for
the Dual Encoder's tri-grid stitching (§6).

Surface points (ray origin + rendered depth x direction) are projected onto the planes; the cells
they land in are marked, then the mask is blurred (Gaussian, kernel 9, reflect padding),
thresholded at 0.35 and blurred again, as in GOAE's `mix_fusion`. GOAE draws the blur sigma
uniformly in [1, 2] at every call (torchvision GaussianBlur(9, (1, 2))), which makes its output
random; here sigma is an argument (default 1.5, the middle of that range) so inversion is
deterministic given the image. sigma <= 0 skips the post-processing: the hard {0, 1} mask of the
marked cells (the Dual Encoder's Eq. 3 as written).
"""
import jax.numpy as jnp
import numpy as np

from inversion3d.camera import split_label
from inversion3d.ops.grid import project_onto_planes
from inversion3d.rendering.rays import sample_rays

BLUR_KERNEL = 9  # GaussianBlur(9, ...) (§1.4)
THRESHOLD = 0.35  # mask > 0.35 after the first blur (§1.4)
DEFAULT_SIGMA = 1.5  # the middle of GOAE's random range [1, 2]


def surface_points(depth, c):
    """depth (N, R, R, 1) along unit rays, c (N, 25) -> world points (N, R*R, 3) (o + depth * d)."""
    n, r = depth.shape[0], depth.shape[1]
    origins, directions = sample_rays(*split_label(c), r)
    return origins + depth.reshape(n, r * r, 1) * directions


def cell_indices(points, size, depth, box_warp, plane_axes):
    """points (N, P, 3) -> integer (plane-axis) cells (N, 3, P, 3) as (column, row, slice) per plane.

    The cell of a coordinate g in [-1, 1] is trunc((g + 1) / 2 * size) clamped to the plane, i.e.
    GOAE's u = (X + 0.5) * 256 for box_warp 1 and 256 x 256 planes; slices use the same rule over
    `depth` (always 0 for tri-planes).
    """
    grid = project_onto_planes((2.0 / box_warp) * points, plane_axes)  # (N, 3, P, 3)
    limits = jnp.asarray([size, size, depth], jnp.float32)
    cells = jnp.clip((grid + 1.0) * 0.5 * limits, 0.0, limits - 1.0)
    return jnp.trunc(cells).astype(jnp.int32)


def mark_cells(cells, size, depth):
    """cells (N, 3, P, 3) -> {0, 1} float mask (N, 3, depth, size, size) of the marked cells."""
    n, planes, p, _ = cells.shape
    flat = (cells[..., 2] * size + cells[..., 1]) * size + cells[..., 0]  # (N, 3, P)
    mask = jnp.zeros((n, planes, depth * size * size), jnp.float32)
    rows = jnp.arange(n)[:, None, None]
    cols = jnp.arange(planes)[None, :, None]
    mask = mask.at[rows, cols, flat].set(1.0)
    return mask.reshape(n, planes, depth, size, size)


def gaussian_kernel(sigma, size=BLUR_KERNEL):
    """torchvision's 1-D kernel: exp(-x^2 / (2 sigma^2)) over linspace(-(k-1)/2, (k-1)/2, k), normalised."""
    x = np.linspace(-(size - 1) / 2, (size - 1) / 2, size)
    k = np.exp(-0.5 * (x / float(sigma)) ** 2)
    return (k / k.sum()).astype(np.float32)


def gaussian_blur(x, sigma, size=BLUR_KERNEL):
    """Separable Gaussian blur of the last two axes of x (..., H, W) with reflect padding."""
    k = jnp.asarray(gaussian_kernel(sigma, size))
    pad = size // 2
    lead = x.shape[:-2]
    y = x.reshape((-1,) + x.shape[-2:])
    y = jnp.pad(y, ((0, 0), (pad, pad), (pad, pad)), mode="reflect")
    h, w = x.shape[-2:]
    y = sum(k[i] * y[:, i:i + h, :] for i in range(size))  # rows
    y = sum(k[i] * y[:, :, i:i + w] for i in range(size))  # columns
    return y.reshape(lead + (h, w))


def soft_mask(marked, sigma=DEFAULT_SIGMA):
    """GOAE's post-processing (§1.4): blur -> (> 0.35) -> blur, on (..., H, W) masks in {0, 1};
    sigma <= 0: the marked cells unchanged."""
    if float(sigma) <= 0:
        return marked
    hard = (gaussian_blur(marked, sigma) > THRESHOLD).astype(jnp.float32)
    return gaussian_blur(hard, sigma)


def visibility(depth, c, plane_size, plane_depth=1, box_warp=1.0, plane_axes="eg3d", sigma=DEFAULT_SIGMA):
    """Soft visibility (N, 3, plane_depth, plane_size, plane_size) in [0, 1] of the plane cells seen
    from cameras c (N, 25) with rendered depth (N, R, R, 1); 1 = seen from the input view."""
    points = surface_points(depth, c)
    cells = cell_indices(points, plane_size, plane_depth, box_warp, plane_axes)
    return soft_mask(mark_cells(cells, plane_size, plane_depth), sigma)


def blend_planes(seen, unseen, mask):
    """mask * seen + (1 - mask) * unseen for tri-planes (N, 3, H, W, C*D) (channel c*D + d) and a
    mask (N, 3, D, H, W) or (N, 3, 1, H, W) (one mask for every slice)."""
    n, p, h, w, cd = seen.shape
    d = mask.shape[2]
    m = jnp.transpose(mask, (0, 1, 3, 4, 2))[:, :, :, :, None, :]  # (N, 3, H, W, 1, D)
    blended = m * seen.reshape(n, p, h, w, cd // d, d) + (1 - m) * unseen.reshape(n, p, h, w, cd // d, d)
    return blended.reshape(seen.shape)
