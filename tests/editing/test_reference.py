"""Reference-based tri-plane editing (editing/reference.py): region masks in the canonical cube from a
box / a painted image / a density threshold, and the transfer's exact identities (empty mask: the
target; full mask: the reference), on EG3D tri-planes and PanoHead tri-grids."""
import numpy as np
import pytest

from inversion3d.editing import reference as ref

GRID = 16


def _planes(seed, shape):
    return np.random.RandomState(seed).randn(*shape).astype(np.float32)


@pytest.mark.parametrize("shape,depth,axes", [((1, 3, 32, 32, 8), 1, "eg3d"), ((1, 3, 32, 32, 9), 3, "panohead")])
def test_empty_region_is_identity_and_full_region_is_reference(shape, depth, axes):
    target, other = _planes(0, shape), _planes(1, shape)
    points = ref.grid_centres(GRID)
    for feather in (0.0, 1.5):
        empty = ref.plane_mask(ref.in_box(points, (2, 3, 2, 3, 2, 3)), points, 32, depth, axes, GRID, feather)
        full = ref.plane_mask(ref.in_box(points, (-1, 1, -1, 1, -1, 1)), points, 32, depth, axes, GRID, feather)
        assert empty.shape == full.shape == (3, depth, 32, 32)
        np.testing.assert_array_equal(np.asarray(ref.transfer(target, other, empty)), target)
        np.testing.assert_array_equal(np.asarray(ref.transfer(target, other, full)), other)


def test_box_marks_exactly_its_cells_on_each_plane():
    """The upper half (y > 0) of the cube on EG3D's planes. Plane 0 is xy (columns x, rows y): exactly
    its rows 16..31 (y in (0, 1)). EG3D's official plane axes make planes 1 and 2 both x/z planes (the
    known generate_planes quirk, eg3d.md §5.3): y never reaches them, so every cell is marked."""
    points = ref.grid_centres(GRID)
    mask = ref.plane_mask(ref.in_box(points, (-1, 1, 0, 1, -1, 1)), points, 32, 1, "eg3d", GRID)[:, 0]
    want = np.zeros((32, 32), np.float32)
    want[16:] = 1.0
    np.testing.assert_array_equal(mask[0], want)
    np.testing.assert_array_equal(mask[1:], 1.0)
    lower = ref.plane_mask(ref.in_box(points, (-1, 1, -1, 1, -1, -0.5)), points, 32, 1, "eg3d", GRID)[:, 0]
    assert lower[0].all() and 0 < lower[1].mean() < 0.5 and 0 < lower[2].mean() < 0.5  # z < -0.5: a quarter


def test_painted_frontal_image_and_density_threshold():
    points = ref.grid_centres(GRID)
    paint = np.zeros((8, 8), np.float32)
    paint[:4] = 1.0  # the upper half of the frontal view
    inside = ref.in_painting(points, paint)
    np.testing.assert_array_equal(inside, points[:, 1] > 0)
    sigma = points[:, 2] * 20.0  # a density rising towards the camera
    dense = inside & ref.density_inside(sigma, 10.0)
    np.testing.assert_array_equal(dense, (points[:, 1] > 0) & (points[:, 2] > 0.5))
    with pytest.raises(ValueError, match="painting: expected a"):
        ref.in_painting(points, np.zeros((2, 2, 3)))


def test_transfer_checks_shapes():
    with pytest.raises(ValueError, match="do not match the target"):
        ref.transfer(_planes(0, (1, 3, 8, 8, 4)), _planes(1, (1, 3, 16, 16, 4)), np.zeros((3, 1, 8, 8)))
    with pytest.raises(ValueError, match="box: expected"):
        ref.check_box((1, 0, 0, 1, 0, 1))
