"""rendering/pixel_features.py: projection, bilinear lookup, visibility, injection (E3DGE local branch)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from inversion3d import camera
from inversion3d.encoders.e3dge import LocalBranch
from inversion3d.methods.e3dge import pipeline
from inversion3d.rendering import pixel_features as pf
from inversion3d.rendering.rays import sample_rays
from inversion3d.rendering.renderer import RenderConfig, render
from tests.tolerances import f32_tol

R = 8


def _label(yaw=np.pi / 2 + 0.3, pitch=np.pi / 2 - 0.1, skew=0.0):
    k = camera.intrinsics_matrix(4.2647)
    k[0, 1] = skew
    return camera.make_label(camera.lookat_pose(yaw, pitch), k).astype(np.float32)


@pytest.mark.parametrize("skew", [0.0, 0.3])
def test_ray_points_project_to_their_pixel(skew):
    """A point t along the ray of pixel (i, j) lands at ((j + .5) / R, (i + .5) / R), at distance t."""
    c = _label(skew=skew)
    cam2world, intr = camera.split_label(c)
    origins, dirs = sample_rays(cam2world, intr, R)
    t = np.linspace(2.0, 3.5, R * R, dtype=np.float32)[None, :, None]
    uv, dist, front = pf.project_points(origins + t * dirs, jnp.asarray(c))
    centres = (np.arange(R) + 0.5) / R
    v, u = np.meshgrid(centres, centres, indexing="ij")
    np.testing.assert_allclose(uv[0], np.stack([u.ravel(), v.ravel()], -1), atol=1e-5)
    np.testing.assert_allclose(dist[0], t[0, :, 0], rtol=1e-6)
    assert bool(np.all(front))


def test_pivot_projects_to_the_image_centre_and_behind_is_flagged():
    c = _label()
    pivot = np.asarray(camera.FFHQ_PIVOT, np.float32)
    origin = c[0, :16].reshape(4, 4)[:3, 3]
    behind = origin + (origin - pivot)  # mirrored through the camera centre
    uv, dist, front = pf.project_points(jnp.asarray(np.stack([pivot, behind])[None]), jnp.asarray(c))
    np.testing.assert_allclose(uv[0, 0], [0.5, 0.5], atol=1e-6)
    np.testing.assert_allclose(dist[0, 0], np.linalg.norm(pivot - origin), rtol=1e-6)
    assert bool(front[0, 0]) and not bool(front[0, 1])


def test_bilinear_lookup_matches_numpy():
    rs = np.random.RandomState(0)
    fmap = rs.randn(1, 4, 5, 2).astype(np.float32)
    uv = np.array([[[0.5, 0.5], [0.05, 0.9], [0.3, 0.125], [1.2, 0.5]]], np.float32)
    got, inside = pf.bilinear_lookup(jnp.asarray(fmap), jnp.asarray(uv))

    def ref(u, v):  # grid_sample(align_corners=False, zeros)
        x, y = u * 5 - 0.5, v * 4 - 0.5
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        out = np.zeros(2, np.float32)
        for yi, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
            for xi, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
                if 0 <= xi < 5 and 0 <= yi < 4:
                    out += wx * wy * fmap[0, yi, xi]
        return out

    want = np.stack([ref(*p) for p in uv[0]])
    np.testing.assert_allclose(got[0], want, atol=1e-6)
    assert inside[0].tolist() == [True, True, True, False]


def test_visibility_hand_made():
    """A wall at ray depth 2.7 in every pixel: points before it (or within the margin) are visible;
    behind it, outside the image or behind the camera they are not."""
    c = _label()
    cam2world, intr = camera.split_label(c)
    origins, dirs = sample_rays(cam2world, intr, R)
    depth = jnp.full((1, R, R, 1), 2.7, jnp.float32)
    o, d = np.asarray(origins[0, 0]), np.asarray(dirs[0, 27])  # an interior pixel
    pts = np.stack([o + 2.0 * d, o + 2.75 * d, o + 3.0 * d, o - 2.0 * d,
                    o + 2.0 * (d + np.array([5.0, 0, 0], np.float32))])[None].astype(np.float32)
    vis = pf.visible(jnp.asarray(pts), jnp.asarray(c), depth, margin=0.1)
    assert np.asarray(vis[0]).tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]


def test_pixel_aligned_and_injection_gradients_match_finite_differences():
    """d/d(features, points, delta weights) of the injected decoder input, float64 finite differences."""
    with jax.enable_x64(True):
        rs = np.random.RandomState(1)
        c = jnp.asarray(_label(), jnp.float64)
        cam2world, intr = camera.split_label(c)
        origins, dirs = sample_rays(cam2world.astype(jnp.float32), intr.astype(jnp.float32), R)
        # interior points well inside the visible depth range (no visibility flips under eps), moved off
        # the texel centres (where bilinear interpolation has a kink: one-sided slopes differ)
        pts = jnp.asarray(np.asarray(origins[:, ::13] + 2.3 * dirs[:, ::13]), jnp.float64) + jnp.asarray([0.011, -0.017, 0.0])
        fmap = jnp.asarray(rs.randn(1, R, R, 3))
        depth = jnp.full((1, R, R, 1), 2.7, jnp.float64)
        w = jnp.asarray(rs.randn(3 + 1 + 3 * 5, 4))

        def decoder_input(fmap, pts, w):
            def delta_fn(coords):
                f, v = pf.pixel_aligned(coords, c, fmap, depth, 0.05)
                return jnp.concatenate([f, v, pf.positional_encoding(coords, 2)], -1) @ w

            feats = jnp.zeros((1, 3, pts.shape[1], 4), jnp.float64) + jnp.arange(3.0)[None, :, None, None]
            return pf.with_point_delta(lambda f, x, d: {"sigma": f}, delta_fn)(feats, pts, None)["sigma"]

        check_grads(jax.jit(decoder_input), (fmap, pts, w), order=1, modes=("rev",), eps=1e-5, atol=1e-5, rtol=1e-5)


def _toy_scene():
    """A tiny analytic tri-plane scene and decoder (mean over planes -> sigma, rgb)."""
    rs = np.random.RandomState(2)
    planes = jnp.asarray(rs.randn(1, 3, 8, 8, 4).astype(np.float32))

    def decode(feats, coords, dirs):
        x = jnp.mean(feats, axis=1)
        return {"sigma": 4.0 * x[..., :1], "rgb": jax.nn.sigmoid(x[..., 1:])}

    return planes, decode


def test_zero_initialised_branch_renders_the_global_only_image():
    """The LocalBranch fusion output is exactly 0 at init, so the injected render equals the plain one."""
    local = LocalBranch(features=4, stem=4, hourglass=4, hidden=8, layers=1, num_freqs=2, plane_channels=4,
                        align_widths=(4, 4), resolution=R, visibility_margin=0.1)
    z = jnp.zeros((1, R, R, 3))
    lv = jax.jit(local.init)(jax.random.PRNGKey(0), z, z[..., :1], z)
    c = jnp.asarray(_label())
    cam2world, intr = camera.split_label(c)
    origins, dirs = sample_rays(cam2world, intr, R)
    rcfg = RenderConfig(depth_resolution=6, depth_resolution_importance=6, ray_start=2.25, ray_end=3.3)

    class _Cfg:  # the two generator-config fields point_delta reads
        render = rcfg

    rs = np.random.RandomState(3)
    ref = {"c": c, "feats": jnp.asarray(rs.randn(1, R, R, 4).astype(np.float32)),
           "depth": jnp.full((1, R, R, 1), 2.7, jnp.float32)}
    delta_fn = pipeline.point_delta(_Cfg, local, lv, ref, ref)
    pts = origins[:, :5] + 2.5 * dirs[:, :5]
    assert np.array_equal(np.asarray(jax.jit(delta_fn)(pts)), np.zeros((1, 5, 4), np.float32))
    planes, decode = _toy_scene()
    ones = lambda x: jnp.ones(x.shape[:2] + (4,))  # noqa: E731
    fn = jax.jit(lambda p: [render(p, dec, origins, dirs, rcfg)["rgb"] for dec in
                            (decode, pf.with_point_delta(decode, delta_fn), pf.with_point_delta(decode, ones))])
    plain, injected, moved = fn(planes)
    np.testing.assert_allclose(injected, plain, rtol=0, atol=f32_tol(1.0, 12))
    assert float(jnp.max(jnp.abs(moved - plain))) > 1e-3  # a non-zero delta does change it (the hook is live)


def test_bad_shapes_are_one_line_errors():
    with pytest.raises(ValueError, match="points"):
        pf.project_points(jnp.zeros((1, 4, 2)), jnp.asarray(_label()))
    with pytest.raises(ValueError, match="delta_fn"):
        pf.with_point_delta(lambda f, x, d: f, lambda x: jnp.zeros((1, 3)))(jnp.zeros((1, 3, 2, 4)), jnp.zeros((1, 2, 3)), None)
