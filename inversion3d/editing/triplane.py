"""Latent edits carried into the tri-plane domain, for every inversion method (editing-and-eval.md §2-3).

All edits follow one pattern (FS / GOAE eq. 9): the inverted result keeps what the encoder or the
optimisation added on top of the generator, and the edit moves only the generator's part,

    X_edit = X* + (G(w+ + Δ) - G(w+)),

where X is GOAE's 32x32 feature F (then finished by the generator and mixed, §2), or the tri-planes
themselves (TriPlaneNet v2 and Dual Encoder: T* = T0 + offsets; pSp, e4e, W+: T* = G(w+); PTI: G is
the tuned generator; In-N-Out: the in-distribution part only). The difference is formed from two runs
of the same function in the same program, so the small numerical differences between the inversion
program and the edit program never appear as an edit; rows whose ws are not moved (strength 0, Δ = 0)
return the stored inversion exactly by selection (`keep_unedited`), not by relying on two runs rounding
alike (XLA does not promise that across batch slots or call sites). Functions are pure and jit-able; cfg is the generator's (static) EG3DConfig.
"""
import jax
import jax.numpy as jnp

from inversion3d.generators import eg3d
from inversion3d.inversion import visibility
from inversion3d.inversion.common import NOISE_MODE, generator_planes, render

GOAE_SPLIT = 32  # F is the backbone feature after block b32 (encoders.md §1.3)


def edited_feature(f_star, f_rec, f_edit):
    """GOAE eq. 9 (FS): F^* + F(w+ + Δ) - F(w+) = f_star + (f_edit - f_rec); f_edit == f_rec gives f_star."""
    return f_star + (f_edit - f_rec)


def anchored(stored, recomputed, edited):
    """stored + (edited - recomputed): the edit as a difference of two runs of one function."""
    return stored + (edited - recomputed)


def keep_unedited(stored, edited, ws, ws_edit):
    """edited, with the rows whose ws_edit equals ws (N, num_ws, w_dim) replaced by stored exactly."""
    same = jnp.all(ws_edit == ws, axis=tuple(range(1, ws.ndim)))
    return jnp.where(same.reshape((-1,) + (1,) * (stored.ndim - 1)), stored, edited)


def planes_edit(cfg, gen_variables, planes, ws, ws_edit):
    """Tri-plane-delta edit T* + G(ws_edit) - G(ws) (TriPlaneNet v2, Dual Encoder, pSp / e4e / W+,
    and PTI with the tuned variables). planes (N, 3, H, W, C); ws, ws_edit (N, num_ws, w_dim)."""
    edited = anchored(planes, generator_planes(cfg, gen_variables, ws), generator_planes(cfg, gen_variables, ws_edit))
    return keep_unedited(planes, edited, ws, ws_edit)


def _backbone(cfg, gen_variables, ws):
    return eg3d.TriPlaneGenerator(cfg).apply(gen_variables, ws, NOISE_MODE, GOAE_SPLIT,
                                             method=eg3d.TriPlaneGenerator.backbone_features)


def _finish(cfg, gen_variables, feature, skip, ws):
    return eg3d.TriPlaneGenerator(cfg).apply(gen_variables, feature, skip, ws, NOISE_MODE, GOAE_SPLIT,
                                             method=eg3d.TriPlaneGenerator.planes_from_features)


def goae_mixed(cfg, gen_variables, ws_rec, ws_edit, f_star, c, sigma=visibility.DEFAULT_SIGMA):
    """GOAE Net.edit steps 1-5 (§2): the edited, occlusion-mixed tri-planes (N, 3, H, W, C).

    ws_rec: the inverted w+ (N, num_ws, w_dim); ws_edit: the edited w+; f_star: the AFA-refined
    feature F* (N, 32, 32, C) of the inversion (carried into the edit); c (N, 25) the input camera.
    F' = F* + F_edit - F_rec is finished with the edited skip and, as the official code does, the
    unedited ws (a quirk of GOAE: fine layers of the edit reach the refined planes only through the
    skip and the mix); the unseen part of plane 0 comes from the edited W tri-planes."""
    f_rec, _ = _backbone(cfg, gen_variables, ws_rec)
    f_edit, skip_edit = _backbone(cfg, gen_variables, ws_edit)
    f_planes = _finish(cfg, gen_variables, edited_feature(f_star, f_rec, f_edit), skip_edit, ws_rec)
    w_planes = _finish(cfg, gen_variables, f_edit, skip_edit, ws_edit)
    r = cfg.render
    depth = render(cfg, gen_variables, f_planes, ws_edit, c)["image_depth"]
    mask = visibility.visibility(depth, c, f_planes.shape[2], r.triplane_depth, r.box_warp,
                                 "eg3d" if r.plane_kind == "eg3d" else "panohead", sigma)[:, :1]
    seen = visibility.blend_planes(f_planes[:, :1], w_planes[:, :1], mask)
    return jnp.concatenate([seen, f_planes[:, 1:]], axis=1)


def goae_edit(cfg, gen_variables, planes, ws, ws_edit, f_star, c, sigma=visibility.DEFAULT_SIGMA):
    """GOAE tri-plane edit anchored on the stored mixed planes (N, 3, H, W, C): equals `goae_mixed`
    for the edit up to the inversion program's rounding, and `planes` exactly when ws_edit == ws.
    The unedited and the edited pass run as the two halves of one batch: as two separate calls XLA
    compiled them differently (rounding-level differences through the render and the mix)."""
    n = ws.shape[0]
    both = goae_mixed(cfg, gen_variables, jnp.concatenate([ws, ws]), jnp.concatenate([ws, ws_edit]),
                      jnp.concatenate([f_star, f_star]), jnp.concatenate([c, c]), sigma)
    return keep_unedited(planes, anchored(planes, both[:n], both[n:]), ws, ws_edit)


def in_n_out_edit(cfg, gen_variables, result, ws_edit):
    """In-N-Out (§3): only the in-distribution part is edited; the out-of-distribution part
    (`result['ood']`, whatever In-N-Out stores: its tri-plane residual, decoder and blending) is
    kept as it is. result: {'ws', 'planes' (the in-distribution tri-planes), 'ood', ...}.
    The In-N-Out renderer composites the returned `planes` with `ood` exactly as it renders the
    inversion (methods/innout/pipeline.edit_frame; `inversion3d edit` on an In-N-Out result)."""
    if "ood" not in result:
        raise ValueError("in_n_out_edit: the result has no 'ood' part (not an In-N-Out inversion)")
    return dict(result, ws=ws_edit, planes=planes_edit(cfg, gen_variables, result["planes"], result["ws"], ws_edit))


def sweep(edit_one, ws, direction, strengths):
    """Runs `edit_one(ws_edit (N, num_ws, w_dim)) -> planes` for every strength (S,) with one compiled
    body (lax.map) -> (ws_edits (S, N, num_ws, w_dim), planes (S, N, 3, H, W, C))."""
    def one(s):
        ws_edit = ws + s * direction
        return ws_edit, edit_one(ws_edit)

    return jax.lax.map(one, jnp.asarray(strengths, ws.dtype))
