"""Two-view pseudo-pairs for E3DGE's self-supervised training (e3dge.md §2.1, §6 'Training data').

Each example: z ~ N(0, I) and two cameras drawn independently from data.poses; the frozen
generator renders both views of the same ws. The pair is a pure function of (key, global index)
like data/pseudo_pairs.py, so batches do not depend on the mesh.
fn(frozen, key, indices (B,)) -> {image, c, depth, image2, c2, depth2, ws}: images (B, r, r, 3) in
[-1, 1] at data.resolution, cameras (B, 25), depths (B, R, R, 1) (the generator's ray depth at its
neural rendering resolution R), ws (B, num_ws, w_dim).
"""
import jax
import jax.numpy as jnp

from inversion3d.data.pseudo_pairs import sample_pose
from inversion3d.generators import eg3d
from inversion3d.ops.resize import area_downsample


def make_two_view_pairs(gen_cfg, data_cfg):
    """Pairs from a frozen EG3D / PanoHead generator; frozen = {'generator': variables[, 'labels']}.
    data_cfg: truncation_psi, truncation_cutoff, image_key, resolution, poses (pseudo_pairs.sample_pose)."""
    cutoff = data_cfg.get("truncation_cutoff")
    key_name = data_cfg.get("image_key", "image")
    r = int(data_cfg.resolution)

    def fn(frozen, key, indices):
        labels = frozen.get("labels")

        def draw(i):
            k_z, k_c1, k_c2 = jax.random.split(jax.random.fold_in(key, i), 3)
            return (jax.random.normal(k_z, (gen_cfg.z_dim,)), sample_pose(k_c1, data_cfg.poses, labels),
                    sample_pose(k_c2, data_cfg.poses, labels))

        z, c1, c2 = jax.vmap(draw)(indices)
        variables = frozen["generator"]
        ws = eg3d.mapping(gen_cfg, variables, z, c1, float(data_cfg.truncation_psi), cutoff)
        n = ws.shape[0]
        # both views in one render call: one compiled renderer for 2B rows
        out = eg3d.synthesize(gen_cfg, variables, jnp.concatenate([ws, ws]), jnp.concatenate([c1, c2]),
                              noise_mode="const")
        image = area_downsample(out[key_name], (r, r))
        depth = out["image_depth"]
        return {"image": image[:n], "c": c1, "depth": depth[:n], "image2": image[n:], "c2": c2,
                "depth2": depth[n:], "ws": ws}

    return fn
