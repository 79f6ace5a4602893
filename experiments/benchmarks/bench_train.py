"""One training step per method that exists, with random weights: compile and steady time, FLOPs, memory.

  .venv/bin/python experiments/benchmarks/bench_train.py [--sizes tiny,real] [--methods toy_psp,encoder,gan]
      [--iters 2] [--json PATH]

Every step is built from inversion3d/training (step.make_train_step / gan.make_gan_step, compiled by
step.compile_step on a one-device mesh with the state donated, as the loop runs it) and timed by
feeding each step's state into the next (block_until_ready on state and metrics).
  toy_psp  the toy pSp method of configs/toy_psp.py (its Method, loss and optimiser; batch from its
           pseudo-pair function; tiny only).
  encoder  an encoder training step through the generator: GOAE Swin encoder -> w+ (+ w_avg) ->
           EG3D render + SR -> MSE + 0.8 LPIPS (VGG16, random weights, at 256² as pSp's face pool)
           against the target image, Adam. real: swinv2.yaml encoder, ffhq512-128 generator
           (ray_chunk 4096), batch 1; tiny: the test-size Swin and configs/toy_psp.py's generator.
  gan      the latent-discriminator GAN step (training/gan.py): encoder update against the canonical
           latent discriminator (discriminators/latent.py), then the discriminator update; rows for
           the plain step and the lazy-R1 step. real: GOAE Swin encoder; tiny: the toy CNN encoder.
  dual     the Dual Encoder's E2 + occlusion-aware tri-plane D step (methods/dual/train.py): E2's forward
           for O and the fake tri-grids, z+ real tri-grids, the E2 update (Eq. 5 on both stages + 0.001
           L_adv), the D update (Eq. 8-9), no R1. tiny: configs/dual.py; real: configs/dual_full.py
           (PanoHead 256² tri-grids, Table 6 D, IR-SE-50 encoders at 256) at batch 1 (the paper's 3 with
           random weights; 1 keeps a 24 GiB CPU host in memory).
FLOPs of steps that render come from the same step lowered with ray_chunk=None (XLA counts a
`lax.map` body once). E3DGE's step is bench_e3dge.py's row.
"""
import argparse
import dataclasses
import os
import sys
import time

import _common as C
import bench_encoders

METHODS = ("toy_psp", "encoder", "gan", "dual")
SIZES = ("tiny", "real")
LPIPS_WEIGHT = 0.8  # pSp's lpips_lambda (training.md §1.2)


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="tiny,real", help=f"comma list of {SIZES}")
    p.add_argument("--methods", default=",".join(METHODS), help=f"comma list of {METHODS}")
    p.add_argument("--iters", type=int, default=2, help="steady-state steps per workload")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fused-modconv", action="store_true",
                   help="encoder step: the generator with grouped (fused) modulated convs (default: non-fused, "
                        "as official training)")
    return C.add_run_flags(p)


def adam(lr=1e-4):
    import ml_collections

    from inversion3d.training import optim

    return optim.make_optimizer(ml_collections.ConfigDict(dict(name="adam", lr=lr)))


def one_device():
    from inversion3d.training import sharding

    return sharding.make_mesh(1)


def compile_donated(step, state, mesh):
    """step(state, batch, frozen) jitted like the loop does: explicit shardings, state donated."""
    import jax

    from inversion3d.training import sharding, step as step_lib

    shardings = sharding.state_shardings(jax.eval_shape(lambda: state), mesh)
    rep = sharding.replicated(mesh)
    return step_lib.compile_step(step, mesh, shardings, sharding.batch_sharding(mesh), rep), shardings


def measure_step(name, step, state, batch, frozen, iters, peak, flops_step=None):
    """Compile + first + steady steps of a donated step (the state is threaded through) -> dict."""
    import jax

    mesh = one_device()
    jitted, shardings = compile_donated(step, state, mesh)
    state = jax.device_put(state, shardings)
    t0 = time.perf_counter()
    lowered = jitted.lower(state, batch, frozen)
    t_lower = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled = lowered.compile()
    t_compile = time.perf_counter() - t0
    stage = compiled if flops_step is None else compile_donated(flops_step, state, mesh)[0].lower(state, batch, frozen)
    flops, err = C.cost_flops(stage)
    mem = C.memory_stats(compiled)
    t0 = time.perf_counter()
    state, metrics = C.block(compiled(state, batch, frozen))
    t_first = time.perf_counter() - t0
    times = []
    for _ in range(max(1, iters)):
        t0 = time.perf_counter()
        state, metrics = C.block(compiled(state, batch, frozen))
        times.append(time.perf_counter() - t0)
    res = {"lower_s": t_lower, "compile_s": t_compile, "first_call_s": t_first, **C.summarize(times),
           "flops": flops, "flops_error": err, "memory": mem, "peak_rss_mib_so_far": C.peak_rss_mib(),
           "metrics": {k: float(v) for k, v in metrics.items()},
           "peak_after": C.matmul_peak(reps=3)["gflops_per_s"]}
    gf = flops / res["median_s"] / 1e9 if flops else None
    print(f"  {name}: lower {t_lower:.1f} s, compile {t_compile:.1f} s, first step {t_first:.3g} s, steady median "
          f"{res['median_s']:.3g} s; {C.fmt(flops and flops / 1e9, '.3g')} GFLOP -> {C.fmt(gf, '.3g')} GFLOP/s "
          f"({C.fmt(gf and peak and 100 * gf / peak, '.1f')}% of matmul); loss {res['metrics'].get('loss', 0):.4g}; "
          f"peak RSS {res['peak_rss_mib_so_far']:.0f} MiB", flush=True)
    return res


def init_state(rng, variables, txs):
    import jax

    from inversion3d.training.state import create_train_state

    # variables as an argument, not a closure: closed-over arrays become XLA constants (2 GB at the real
    # Dual size, which ran the host out of memory)
    return jax.jit(lambda v: create_train_state(rng, v, txs))(variables)


# --- toy pSp ----------------------------------------------------------------------------------------

def toy_psp(args, peak):
    import jax
    import jax.numpy as jnp

    from inversion3d.app.loading import load_config
    from inversion3d.methods.toy_psp import train as method_lib
    from inversion3d.training import optim, step as step_lib

    config = load_config("configs/toy_psp.py")
    method = method_lib.Method(config)
    k_init, k_frozen, k_data, k_state = jax.random.split(jax.random.PRNGKey(args.seed), 4)
    frozen = method.frozen(k_frozen)
    b = int(config.batch_size)
    batch = jax.jit(method.pair_fn)(frozen, k_data, jnp.arange(b))
    state = init_state(k_state, method.init_variables(k_init), {"encoder": optim.make_optimizer(config.optim.encoder)})
    step = step_lib.make_train_step(method.loss_fn, "encoder")
    res = measure_step("toy pSp step", step, state, batch, frozen, args.iters, peak)
    r = int(config.data.resolution)
    return res, C.row_from_measure("train step: toy pSp", f"configs/toy_psp.py, batch {b}, {r}² input, "
                                   "loss " + " + ".join(k for k, v in config.losses.items() if v), res, peak)


# --- encoder through the generator --------------------------------------------------------------

def generator(size, seed, fused_modconv=False):
    """(EG3DConfig, variables, config path) of the tiny (toy_psp) or real (ffhq512-128) generator.

    fused_modconv=False by default: the official fused_modconv_default='inference_only' trains with
    shared-kernel convs, and the gradient of XLA's grouped conv is slow on CPU.
    """
    from inversion3d.api import load_generator
    from inversion3d.app.loading import load_config

    if size == "tiny":
        path = "configs/toy_psp.py"
        g = load_config(path).generator
    else:
        path = "configs/eg3d_ffhq512.py"
        g = load_config(path)
    gen = load_generator(None, kind="eg3d", init_kwargs=g.init_kwargs, seed=seed,
                         neural_rendering_resolution=int(g.neural_rendering_resolution), ray_chunk=g.get("ray_chunk"),
                         fused_modconv=fused_modconv)
    return gen.config, C.block(gen.params), path


def lpips_variables(resolution, seed):
    """LPIPS-VGG16 with He-scaled random weights (no weight file needed for timing)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from inversion3d.losses.lpips import LPIPS

    module = LPIPS(net="vgg")
    x = jnp.zeros((1, resolution, resolution, 3), jnp.float32)
    shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0), x, x)
    rng = np.random.default_rng(seed)

    def draw(leaf):
        fan_in = int(np.prod(leaf.shape[:-1])) if len(leaf.shape) > 1 else 1
        scale = np.sqrt(2.0 / fan_in) if len(leaf.shape) > 1 else 0.0
        return jnp.asarray(scale * rng.standard_normal(leaf.shape, dtype=np.float32))

    return module, jax.tree.map(draw, shapes)


def encoder_loss(cfg, encoder, lpips_module, lpips_res):
    """loss_fn(params, batch_stats, batch, rng, frozen) of the encoder-through-generator step."""
    import jax.numpy as jnp

    from inversion3d.generators import eg3d
    from inversion3d.inversion.common import resize_image, w_avg
    from inversion3d.losses.lpips import lpips_loss

    def loss_fn(params, batch_stats, batch, rng, frozen):
        del rng
        gen = frozen["generator"]
        target = batch["image"]
        x = resize_image(target, encoder.swin.img_size)
        ws, _ = encoder.apply({"params": params, **frozen["encoder_rest"]}, x, latent_avg=w_avg(gen))
        image = eg3d.synthesize(cfg, gen, ws, batch["c"], noise_mode="const")["image"]
        l2 = jnp.mean(jnp.square(image - target))
        lp = lpips_loss(lpips_module, frozen["lpips"], resize_image(image, lpips_res), resize_image(target, lpips_res))
        return l2 + LPIPS_WEIGHT * lp, ({"l2": l2, "lpips": lp}, batch_stats)

    return loss_fn


def frontal_labels(batch):
    import jax.numpy as jnp

    from inversion3d import camera

    c = camera.frontal_label("eg3d")[None]
    return jnp.repeat(jnp.asarray(c, jnp.float32), batch, axis=0)


def split_params(variables):
    return variables["params"], {k: v for k, v in variables.items() if k != "params"}


def encoder_step(args, size, peak):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from inversion3d.training import step as step_lib

    enc, _, counts = bench_encoders.goae_networks(args.seed, size)
    encoder = enc.modules["goae"]
    params, rest = split_params(enc.variables["goae"])
    cfg, gen_vars, path = generator(size, args.seed, args.fused_modconv)
    lp_res = 256 if size == "real" else 64
    lp_module, lp_vars = lpips_variables(lp_res, args.seed + 7)
    b = 1 if size == "real" else 2
    rng = np.random.default_rng(args.seed)
    batch = {"image": jnp.asarray(rng.uniform(-1, 1, (b, cfg.img_resolution, cfg.img_resolution, 3)), jnp.float32),
             "c": frontal_labels(b)}
    frozen = {"generator": gen_vars, "encoder_rest": rest, "lpips": lp_vars}
    state = init_state(jax.random.PRNGKey(args.seed), {"encoder": {"params": params}}, {"encoder": adam()})
    step = step_lib.make_train_step(encoder_loss(cfg, encoder, lp_module, lp_res), "encoder")
    full = dataclasses.replace(cfg, render=dataclasses.replace(cfg.render, ray_chunk=None))
    flops_step = step_lib.make_train_step(encoder_loss(full, encoder, lp_module, lp_res), "encoder")
    res = measure_step(f"encoder step ({size})", step, state, batch, frozen, args.iters, peak, flops_step)
    sz = (f"{size}: GOAE Swin {counts['goae'] / 1e6:.1f} M + {os.path.basename(path)} generator "
          f"(neural {cfg.neural_rendering_resolution}, chunk {cfg.render.ray_chunk}, fused_modconv "
          f"{cfg.fused_modconv}) + LPIPS-VGG {lp_res}², batch {b}")
    return res, C.row_from_measure("train step: encoder + render + MSE/LPIPS", sz, res, peak,
                                   note="FLOPs: unchunked lowering")


# --- latent GAN -------------------------------------------------------------------------------------

R1_GAMMA, R1_EVERY = 10.0, 16  # StyleGAN2 lazy regularisation interval (training.md §2)


def gan_steps(args, size, peak):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from inversion3d.discriminators.latent import CanonicalLatentDiscriminator
    from inversion3d.encoders import toy
    from inversion3d.training import gan

    rng = np.random.default_rng(args.seed)
    num_ws, w_dim = 14, 512
    if size == "real":
        enc, _, counts = bench_encoders.goae_networks(args.seed, "real")
        module = enc.modules["goae"]
        enc_params, rest = split_params(enc.variables["goae"])
        encode = lambda p, x: module.apply({"params": p, **rest}, x)[0]  # noqa: E731
        res_px, label = module.swin.img_size, f"GOAE Swin {counts['goae'] / 1e6:.1f} M"
    else:
        module = toy.Model(num_ws=num_ws, w_dim=w_dim, widths=(16, 32))
        res_px = 32
        enc_params = module.init(jax.random.PRNGKey(args.seed), jnp.zeros((1, res_px, res_px, 3)))["params"]
        encode = lambda p, x: module.apply({"params": p}, x)  # noqa: E731
        label = "toy CNN encoder"
    disc = CanonicalLatentDiscriminator(w_dim)
    d_params = disc.init(jax.random.PRNGKey(args.seed + 1), jnp.zeros((1, num_ws, w_dim)))["params"]
    d_apply = lambda p, bs, x: disc.apply({"params": p}, x)  # noqa: E731

    def g_loss(params, bs, batch, key, ctx):
        fake = encode(params, batch["image"])
        return jnp.mean(jax.nn.softplus(-d_apply(ctx["params"]["discriminator"], None, fake))), ({}, bs)

    def d_loss(params, bs, batch, key, ctx):
        fake = jax.lax.stop_gradient(encode(ctx["params"]["encoder"], batch["image"]))
        loss = jnp.mean(jax.nn.softplus(d_apply(params, None, fake))) + \
            jnp.mean(jax.nn.softplus(-d_apply(params, None, batch["real"])))
        return loss, ({}, bs)

    b = 1 if size == "real" else 4
    batch = {"image": jnp.asarray(rng.uniform(-1, 1, (b, res_px, res_px, 3)), jnp.float32),
             "real": jnp.asarray(rng.standard_normal((b, num_ws, w_dim)), jnp.float32)}
    step = gan.make_gan_step(g_loss, d_loss, gan.r1_penalty(d_apply, R1_GAMMA, R1_EVERY))
    out, rows = {}, []
    variants = (False, True) if size == "tiny" else (False,)  # real: R1 adds only the small MLP's cost
    for reg in variants:
        state = init_state(jax.random.PRNGKey(args.seed), {"encoder": {"params": enc_params},
                                                           "discriminator": {"params": d_params}},
                           {"encoder": adam(), "discriminator": adam()})
        name = "train step: latent GAN" + (" + R1" if reg else "")
        res = out[f"gan{'_r1' if reg else ''}"] = measure_step(
            f"{name} ({size})", lambda s, bt, f, reg=reg: step(s, bt, f, reg), state, batch, {}, args.iters, peak)
        rows.append(C.row_from_measure(name, f"{size}: {label} ({res_px}² in) + canonical latent D, batch {b}"
                                       + (f", R1 every {R1_EVERY}" if reg else ""), res, peak))
    return out, rows


# --- Dual Encoder E2 + D ------------------------------------------------------------------------------

DUAL_ROW = "train step: Dual E2+D"


def dual_step(args, size, peak):
    """The Dual Encoder's E2 + D update (methods/dual/train.py) at configs/dual.py's size (tiny) or
    configs/dual_full.py's at batch 1 (real)."""
    import jax
    import jax.numpy as jnp

    from inversion3d.app.loading import load_config
    from inversion3d.methods.dual import train as dual
    from inversion3d.training import gan, optim

    path = {"tiny": "configs/dual.py", "real": "configs/dual_full.py"}[size]
    config = load_config(path)
    if size == "real":
        config.batch_size = 1
    k_init, k_frozen, k_data, k_state = jax.random.split(jax.random.PRNGKey(args.seed), 4)
    method = dual.Method(config)
    frozen = method.frozen(k_frozen)
    b = int(config.batch_size)
    batch = jax.jit(method.pair_fn)(frozen, k_data, jnp.arange(b))
    txs = {n: optim.make_optimizer(config.optim[n]) for n in method.nets}
    state = init_state(k_state, method.init_variables(k_init), txs)

    def make(m):
        gan_step = gan.make_gan_step(m.e2_loss, m.disc_loss, None, "e2", "discriminator")
        return lambda s, bt, f: gan_step(s, m.step_inputs(s, bt, f), f, False)

    unchunked = load_config(path)
    unchunked.generator.ray_chunk, unchunked.batch_size = None, config.batch_size
    flops_method = dual.Method(unchunked)
    flops_method.loss_modules = method.loss_modules
    res = measure_step(f"Dual E2+D step ({size})", make(method), state, batch, frozen, args.iters, peak,
                       make(flops_method))
    cfg = method.gen_cfg
    sz = (f"{size}: {path}, PanoHead tri-grid {cfg.triplane_resolution}², D widths "
          f"{tuple(config.model.discriminator.widths)}, batch {b}, {int(config.data.resolution)}² images")
    return res, C.row_from_measure(DUAL_ROW, sz, res, peak, note="FLOPs: unchunked lowering; no R1")


def run(args):
    jax = C.configure_jax(args.compilation_cache)
    sizes = [s for s in args.sizes.split(",") if s]
    methods = [m for m in args.methods.split(",") if m]
    if not sizes or any(s not in SIZES for s in sizes):
        raise ValueError(f"--sizes: expected a comma list of {SIZES}, got {args.sizes!r}")
    if not methods or any(m not in METHODS for m in methods):
        raise ValueError(f"--methods: expected a comma list of {METHODS}, got {args.methods!r}")
    report, peak = C.start_report("train", {"sizes": sizes, "methods": methods, "iters": args.iters})
    mm = report["matmul"]
    print(f"train steps {methods} at {sizes} on {jax.default_backend()}; matmul {mm['n']}^2: {peak:.1f} GFLOP/s",
          flush=True)
    results, rows = {}, []
    if "toy_psp" in methods and "tiny" in sizes:
        results["toy_psp"], row = toy_psp(args, peak)
        rows.append(row)
    for size in sizes:
        if "encoder" in methods:
            results[f"encoder_{size}"], row = encoder_step(args, size, peak)
            rows.append(row)
        if "gan" in methods:
            res, more = gan_steps(args, size, peak)
            results.update({f"{k}_{size}": v for k, v in res.items()})
            rows += more
        if "dual" in methods:
            res, row = dual_step(args, size, peak)
            if res is not None:
                results[f"dual_{size}"] = res
            rows.append(row)
    return C.end_report(report, results, rows, markdown, args.json)


def markdown(report):
    return C.steps_markdown(report)


def main(argv=None):
    args = build_parser().parse_args(argv)
    return C.run_cli("bench_train", run, args)


if __name__ == "__main__":
    sys.exit(main())
