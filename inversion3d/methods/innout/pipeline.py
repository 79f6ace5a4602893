"""In-N-Out inference (in-n-out.md §4-5): composite renders of an inverted sequence, OOD removal,
edits of the in-distribution part, novel views, depth and the OOD share of every pixel.

A sequence is {'field', 'codes' (T, code_dim), 'ws' (T, num_ws, w_dim)} (stage B) plus the SR
parameters (stage C's base + delta). Removal: rays whose pixel lies in the 5x5-dilated OOD region
(1 - mask at the neural resolution, nearest) get b = 0, the others b * 1.2 clamped to 1; without a
mask every ray gets b = 0 (the generator's own render). Edits (editing-and-eval.md §3) move only
the in-distribution part: per frame, w+ + s n (editing.directions) and its tri-planes by the
generator's delta (editing.triplane.in_n_out_edit); the OOD field, the frame codes and the SR are
kept and composited on top of the edited render (rendering/composite.py through field.py).

The in-distribution tri-planes of a frame always come from one compiled program (`frame_planes`)
and are handed to the composite render, so a strength-0 edit (w+ + 0 n, planes + (G(w) - G(w)))
feeds the render bit for bit what the reconstruction feeds it: the same images.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np

from inversion3d.editing import triplane
from inversion3d.inversion.common import generator_planes
from inversion3d.methods.innout.field import composite_synthesize
from inversion3d.methods.innout.temporal import smooth_sequence, smoothed_superresolve  # noqa: F401 (re-exported)


def removal_scale(masks, res: int, dilation: int, boost: float):
    """(T, res*res, 1) per-ray factors on b for OOD removal (§5). masks (T, H, W, 1) (1 = face) or None
    (remove everything: zeros). Returns float32 numpy."""
    if masks is None:
        return None
    masks = np.asarray(masks, np.float32)
    rows = np.arange(res) * masks.shape[1] // res
    cols = np.arange(res) * masks.shape[2] // res
    ood = (1.0 - masks[:, rows][:, :, cols, 0]) > 0.5
    pad = dilation // 2
    padded = np.pad(ood, ((0, 0), (pad, pad), (pad, pad)))
    dilated = np.zeros_like(ood)
    for dy in range(dilation):
        for dx in range(dilation):
            dilated |= padded[:, dy:dy + res, dx:dx + res]
    return np.where(dilated, 0.0, boost).astype(np.float32).reshape(-1, res * res, 1)


@functools.partial(jax.jit, static_argnums=0)
def _planes(cfg, gen_vars, ws):
    return generator_planes(cfg, gen_vars, ws[None])[0]


def frame_planes(cfg, gen_vars, ws):
    """The in-distribution tri-planes (3, H, W, C) of one frame's w+ (num_ws, w_dim)."""
    return _planes(cfg, gen_vars, jnp.asarray(ws))


@functools.partial(jax.jit, static_argnums=0)
def _frame(cfg, gen_vars, field, sr_params, ws, code, cam, scale, planes):
    out = composite_synthesize(cfg, gen_vars, field, ws[None], code[None], cam[None], sr_params=sr_params,
                               blend_scale=None if scale is None else scale[None], planes=planes[None])
    keys = ("image", "image_raw", "image_depth", "blend_image", "ood_raw", "ood_depth", "feature_image")
    return {k: out[k][0] for k in keys} | {"blend_coarse": out["blend_coarse"][0]}


def _host(frame, features: bool = False):
    """One `_frame` result on the host; its composite feature image only when asked (a clip's SR smoothing)."""
    frame = jax.device_get(frame)
    if not features:
        frame.pop("feature_image")
    return frame


def render_frames(cfg, gen_vars, seq, sr_params, cams, scales=None, ws=None, planes=None, sr_smooth=None):
    """Composite renders of every frame -> dict of (T, ...) numpy arrays (image, image_raw,
    image_depth, blend_image, ood_raw, ood_depth, blend_coarse (T, R*R, S_c): b as decoded on the
    coarse samples). cams (T, 25); scales (T, R*R, 1) or None (b as learned); ws
    (T, num_ws, w_dim) replaces seq['ws'] (edits); planes (T, 3, H, W, C) the in-distribution
    tri-planes (edits), None: `frame_planes` of ws. sr_smooth: (taps, chunk) to super-resolve the
    frames as a clip with SR block 0 smoothed over time (temporal.py, §4), None: frame by frame;
    a clip shorter than the filter is left frame by frame (the filter leaves it unchanged)."""
    ws = seq["ws"] if ws is None else ws
    smooth = sr_smooth is not None and cams.shape[0] >= len(sr_smooth[0])
    frames = []
    for t in range(cams.shape[0]):
        p = frame_planes(cfg, gen_vars, ws[t]) if planes is None else planes[t]
        frames.append(_host(_frame(cfg, gen_vars, seq["field"], sr_params, ws[t], seq["codes"][t], jnp.asarray(cams[t]),
                                   None if scales is None else scales[t], p), smooth))
    out = {k: np.stack([f[k] for f in frames]) for k in frames[0]}
    if smooth:
        out["image"] = smoothed_superresolve(cfg, gen_vars, sr_params, out.pop("feature_image"), np.asarray(ws),
                                             tuple(sr_smooth[0]), int(sr_smooth[1]))
    return out


@functools.partial(jax.jit, static_argnums=0)
def _edit_sweep(cfg, gen_vars, field, planes, ws, direction, strengths):
    result = {"ws": ws[None], "planes": planes[None], "ood": field}

    def one(ws_edit):
        return triplane.in_n_out_edit(cfg, gen_vars, result, ws_edit)["planes"]

    ws_e, planes_e = triplane.sweep(one, ws[None], direction, strengths)
    return ws_e[:, 0], planes_e[:, 0]


def edit_frame(cfg, gen_vars, seq, t: int, direction, strengths):
    """The edits of frame t at every strength (S,): -> (ws (S, num_ws, w_dim), in-distribution planes
    (S, 3, H, W, C)), anchored on `frame_planes` (strength 0 returns them and seq['ws'][t] exactly).
    direction: (num_ws, w_dim) (editing.directions.as_layers). The OOD part (seq['field'], the frame
    code) is not an input of the edit: it is kept."""
    ws = jnp.asarray(seq["ws"][t])
    direction = jnp.asarray(direction, ws.dtype)
    if direction.shape != ws.shape:
        raise ValueError(f"direction: shape {direction.shape} does not fit the frame's w+ {ws.shape}")
    ws_e, planes_e = _edit_sweep(cfg, gen_vars, seq["field"], frame_planes(cfg, gen_vars, ws), ws, direction,
                                 jnp.asarray(strengths, jnp.float32).reshape(-1))
    return ws_e, planes_e


def edit_frames(cfg, gen_vars, seq, sr_params, cams, direction, strengths):
    """Every frame edited at every strength (S,) and composited with its OOD part at its camera
    cams (T, 25) -> (ws (S, T, num_ws, w_dim), renders: dict of (S, T, ...) as `render_frames`).
    One frame's planes are alive at a time (a clip's edited planes are never all in memory)."""
    strengths = np.asarray(strengths, np.float32).reshape(-1)
    ws_all, frames = [], []
    for t in range(cams.shape[0]):
        ws_e, planes_e = edit_frame(cfg, gen_vars, seq, t, direction, strengths)
        cam = jnp.asarray(cams[t])
        rows = [_host(_frame(cfg, gen_vars, seq["field"], sr_params, ws_e[s], seq["codes"][t], cam, None,
                             planes_e[s])) for s in range(len(strengths))]
        frames.append({k: np.stack([r[k] for r in rows]) for k in rows[0]})
        ws_all.append(np.asarray(ws_e))
    renders = {k: np.stack([f[k] for f in frames], axis=1) for k in frames[0]}
    return np.stack(ws_all, axis=1), renders


def render_views(cfg, gen_vars, seq, sr_params, t: int, ws, planes, cams):
    """Frame t composited with each in-distribution part (ws (S, num_ws, w_dim), planes (S, 3, H, W, C);
    the frame's OOD field and code) from every camera cams (V, 25) -> dict of (V, S, ...) arrays."""
    out = []
    for cam in np.asarray(cams, np.float32):
        rows = [_host(_frame(cfg, gen_vars, seq["field"], sr_params, ws[s], seq["codes"][t], jnp.asarray(cam),
                             None, planes[s])) for s in range(ws.shape[0])]
        out.append({k: np.stack([r[k] for r in rows]) for k in rows[0]})
    return {k: np.stack([o[k] for o in out]) for k in out[0]}
