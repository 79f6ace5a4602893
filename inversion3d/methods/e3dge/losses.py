"""Loss terms only E3DGE uses (e3dge.md §2.1, §4): latent regression, geometry (depth, density)
and the aligned-residual term. Image terms are losses/reconstruction.py's."""
import jax
import jax.numpy as jnp

from inversion3d.generators import eg3d
from inversion3d.ops.grid import sample_from_planes, sample_from_trigrid


def latent_l2(ws, ws_target):
    """Mean squared error of predicted vs pseudo-pair codes (N, num_ws, w_dim) (§4 'latent regression')."""
    return jnp.mean(jnp.square(ws - ws_target))


def depth_l1(depth, depth_target):
    """Mean |depth - target| of (N, R, R, 1) ray-depth maps (world units); EG3D's stand-in for
    StyleSDF's surface terms (§6 'supervise ... depth')."""
    return jnp.mean(jnp.abs(depth - depth_target))


def uniform_points(rng, n: int, count: int, box_warp: float):
    """(n, count, 3) points uniform in the feature cube [-box_warp/2, box_warp/2]^3 (§4 'uniform points')."""
    return (jax.random.uniform(rng, (n, count, 3)) - 0.5) * box_warp


def point_density(cfg, gen_variables, planes, points):
    """softplus(raw sigma) (N, P, 1) of the generator's decoder at world points (N, P, 3) of planes."""
    r = cfg.render
    if r.plane_kind == "eg3d":
        feats = sample_from_planes(planes, points, r.box_warp, "eg3d")
    else:
        feats = sample_from_trigrid(planes, points, r.triplane_depth, r.box_warp)
    return jax.nn.softplus(eg3d.decode_apply(cfg)(gen_variables, feats, points, None)["sigma"])


def density_l1(cfg, gen_variables, planes, planes_target, points):
    """Mean |density(planes) - density(planes_target)| at points (§6 'supervise ... density'); the
    target's densities are constants."""
    target = jax.lax.stop_gradient(point_density(cfg, gen_variables, planes_target, points))
    return jnp.mean(jnp.abs(point_density(cfg, gen_variables, planes, points) - target))


def residual_l1(aligned, residual_target):
    """Mean |aligned residual - (query target - query global render)| (§4 'res' loss)."""
    return jnp.mean(jnp.abs(aligned - residual_target))
