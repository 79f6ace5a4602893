"""One training step of each trained method, built from its own config and Method (the loop's step).

  .venv/bin/python experiments/benchmarks/bench_methods.py [--sizes tiny,real] [--methods psp,e4e,...]
      [--iters 2] [--budget-gib 24] [--batch1-only | --real-batch N] [--profile DIR] [--json PATH]

Methods: psp, e4e, triplanenet, goae_stage1, goae_stage2 (methods/registry.TRAINERS). Sizes:
  tiny  configs/<m>.py at its own batch (the CPU test size);
  real  configs/<m>_full.py with random weights (no generator / LPIPS / ArcFace files here: the
        generator is the config's full-size init_kwargs; LPIPS 'random-init:alex' at the config's
        resolution; no ID term, whose ArcFace adds one IR-SE-50 forward / backward), timed at batch 1
        and at the largest batch that fits in --budget-gib, estimated without running it: the step is
        compiled at batch 1 and 2 and XLA's memory analysis (arguments + temporaries + outputs not
        aliased to the donated state) extrapolated linearly in the batch. The estimate's note also gives
        the batch 24 GiB fits; --real-batch N times batch N instead (what a smaller host fits). On a CPU
        backend the estimate's batch is not timed unless --real-batch says so (its RSS ran 1.6-2x the analysis).
The step is the one the loop compiles (training/loop.compile_method_step: the method's `make_step`
or its `loss_fn`, donated state, one-device mesh); GAN methods are timed on the step without R1.
FLOPs come from XLA's cost analysis of the same step lowered with generator.ray_chunk=None (a
chunked renderer's `lax.map` body is counted once). With --profile, each method's steady step is
traced once and its top XLA ops by self time are written to DIR/<method>_<size>.txt.
"""
import argparse
import math
import os
import sys
import time

import _common as C
import _profile

METHODS = ("psp", "e4e", "triplanenet", "goae_stage1", "goae_stage2")
SIZES = ("tiny", "real")
GIB = 2 ** 30
ACCELERATOR_GIB = 24.0  # issue 14's "largest batch that fits in 24 GiB", also noted when --budget-gib is the host's


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="tiny,real", help=f"comma list of {SIZES}")
    p.add_argument("--methods", default=",".join(METHODS), help=f"comma list of {METHODS}")
    p.add_argument("--iters", type=int, default=2, help="steady-state steps per workload")
    p.add_argument("--budget-gib", type=float, default=24.0, help="device memory for the largest-batch estimate")
    p.add_argument("--batch1-only", action="store_true",
                   help="real size: batch 1 only, no largest-batch estimate (its batch-2 compile took > 17 GiB "
                        "on a CPU host)")
    p.add_argument("--real-batch", type=int, default=0,
                   help="real size: after the estimate, time this batch only (the largest a smaller host fits, "
                        "in a fresh process: the batch-1 run's buffers made batch 2 run out of a 24 GB host)")
    p.add_argument("--profile", default=None, help="trace one steady step per row; top ops to DIR/<row>.txt")
    return C.add_run_flags(p)


def method_config(method, size, batch=None, ray_chunk="keep"):
    import importlib

    config = importlib.import_module(f"configs.{method}{'_full' if size == 'real' else ''}").get_config()
    if size == "real":
        config.losses.lpips_weights = "random-init:alex"  # the real network's size, seeded weights
        config.losses.arcface_weights = ""
        if not config.generator.get("checkpoint") and not config.generator.get("init_kwargs"):
            from configs import eg3d_ffhq512  # GOAE's _full configs take the kwargs from the released file

            config.generator.init_kwargs = eg3d_ffhq512.get_config().init_kwargs  # its size, random weights
            if not int(config.generator.get("neural_rendering_resolution", 0)):
                config.generator.neural_rendering_resolution = 128  # ffhqrebalanced512-128's, which the file says
        if "bg_depth_avg" in config.losses and not float(config.losses.bg_depth_avg):
            config.losses.bg_depth_avg = 2.8  # GOAE stage 1's D_avg (depth-avg of a real file): any depth inside
            # the ray range [2.25, 3.3] costs the same
    if batch is not None:
        config.batch_size = int(batch)
    if ray_chunk != "keep":
        config.generator.ray_chunk = ray_chunk
    config.mesh.num_devices = 1
    config.eval.every = 0
    return config


class Workload:
    """The method's Method, frozen arrays, initial state, one batch and its loop step, at one batch size."""

    def __init__(self, method, size, batch=None, ray_chunk="keep", frozen=None):
        import jax
        import jax.numpy as jnp

        from inversion3d.methods.registry import trainer
        from inversion3d.training import loop, optim, sharding, state as state_lib

        self.config = config = method_config(method, size, batch, ray_chunk)
        self.batch_size = int(config.batch_size)
        self.mesh = mesh = sharding.make_mesh(1)
        self.method = m = trainer(method)(config, bn_axis_name=None)
        k_init, k_frozen, k_data, k_state = loop.run_keys(config)
        self.frozen = frozen if frozen is not None else jax.device_get(m.frozen(k_frozen))
        if frozen is not None:  # loss-network modules are set by frozen(); keep the given arrays
            m.frozen(k_frozen)
        txs = {n: optim.make_optimizer(config.optim[n]) for n in m.nets}
        ema = {n: float(config.optim[n].get("ema_decay", 0.0)) for n in m.nets}
        self.state = jax.jit(lambda: state_lib.create_train_state(k_state, m.init_variables(k_init), txs, ema))()
        self.shardings = sharding.state_shardings(jax.eval_shape(lambda: self.state), mesh)
        self.batch = jax.jit(m.pair_fn)(self.frozen, k_data, jnp.arange(self.batch_size, dtype=jnp.int32))
        rep = sharding.replicated(mesh)
        step = loop.compile_method_step(m, "jit", mesh, self.shardings, sharding.batch_sharding(mesh), rep)
        fns = getattr(step, "_fns", None)  # LazyRegularizedStep: its variant without R1
        self.jitted = fns[False] if fns else _single(m, mesh, self.shardings, rep)

    def lower(self):
        return self.jitted.lower(self.state, self.batch, self.frozen)


def _single(m, mesh, shardings, rep):
    from inversion3d.training import sharding, step as step_lib

    return step_lib.compile_step(step_lib.make_train_step(m.loss_fn, m.nets[0], "jit", mesh), mesh, shardings,
                                 sharding.batch_sharding(mesh), rep)


def footprint(mem):
    """Device bytes of one step from memory_stats: arguments + temporaries + outputs not aliased."""
    if not mem:
        return None
    return (mem.get("argument_size_in_bytes", 0) + mem.get("temp_size_in_bytes", 0)
            + max(0, mem.get("output_size_in_bytes", 0) - mem.get("alias_size_in_bytes", 0)))


def largest_batch(method, budget_bytes):
    """(batch, bytes at 1, bytes per extra example): the memory analysis at batch 1 and 2, linear."""
    sizes = {}
    for b in (1, 2):
        w = Workload(method, "real", batch=b)
        sizes[b] = footprint(C.memory_stats(w.lower().compile()))
        del w
    if sizes[1] is None or sizes[2] is None:
        return None, sizes[1], None
    per = max(sizes[2] - sizes[1], 1)
    return fitting_batch(sizes[1], per, budget_bytes), sizes[1], per


def fitting_batch(at_1, per, budget_bytes):
    """The largest batch whose linear footprint at_1 + (b - 1) per fits budget_bytes (0: not even 1)."""
    if at_1 is None or per is None:
        return None
    return max(0, int(math.floor((budget_bytes - at_1) / per)) + 1)


def measure(label, w, flops_w, iters, peak, profile_dir=None):
    """Compile, first and steady steps of workload w (state threaded through); FLOPs of flops_w."""
    import jax

    t0 = time.perf_counter()
    lowered = w.lower()
    t_lower = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled = lowered.compile()
    t_compile = time.perf_counter() - t0
    flops, err = C.cost_flops(flops_w.lower() if flops_w is not None else lowered)
    mem = C.memory_stats(compiled)
    state = jax.device_put(w.state, w.shardings)
    t0 = time.perf_counter()
    state, metrics = C.block(compiled(state, w.batch, w.frozen))
    t_first = time.perf_counter() - t0
    times = []
    for _ in range(max(1, iters)):
        t0 = time.perf_counter()
        state, metrics = C.block(compiled(state, w.batch, w.frozen))
        times.append(time.perf_counter() - t0)
    prof = None
    if profile_dir:
        holder = {"state": state}

        def one():
            holder["state"], out = compiled(holder["state"], w.batch, w.frozen)
            return out
        prof = _profile.trace_call(one, os.path.join(profile_dir, label.replace(" ", "_")))
        desc = _profile.describe_ops(compiled.as_text(), [op["name"] for op in prof["top"]])
        for op in prof["top"]:  # 'ynn_fusion.5' -> its shape, the ops fused into it and the JAX op it came from
            op["what"] = desc.get(op["name"], "")
        with open(os.path.join(profile_dir, f"{label.replace(' ', '_')}.txt"), "w", encoding="utf-8") as f:
            for op in prof["top"]:
                f.write(f"{op['share'] or 0:6.1%} {op['self_s']:.4f} s x{op['count']} {op['name']}: {op['what']}\n")
    res = {"lower_s": t_lower, "compile_s": t_compile, "first_call_s": t_first, **C.summarize(times),
           "flops": flops, "flops_error": err, "memory": mem, "footprint_bytes": footprint(mem),
           "peak_rss_mib_so_far": C.peak_rss_mib(), "loss": float(metrics.get("loss", float("nan"))),
           "peak_after": C.matmul_peak(reps=3)["gflops_per_s"],
           "profile_top": [] if prof is None else prof["top"][:5]}
    gf = flops / res["median_s"] / 1e9 if flops else None
    print(f"  {label}: compile {t_lower + t_compile:.1f} s, steady median {res['median_s']:.3g} s; "
          f"{C.fmt(flops and flops / 1e9, '.3g')} GFLOP -> {C.fmt(gf, '.3g')} GFLOP/s "
          f"({C.fmt(gf and peak and 100 * gf / peak, '.1f')}% of matmul); loss {res['loss']:.4g}", flush=True)
    return res


def rows_for(method, size, args, peak):
    """[(key, result, row)] of one method at one size (real: batch 1 and the largest batch)."""
    import jax

    out = []
    batches = [None]
    note_mem = ""
    if size == "real" and args.batch1_only:
        batches = [1]
    elif size == "real":
        b_max, at_1, per = largest_batch(method, args.budget_gib * GIB)
        fits = {g: fitting_batch(at_1, per, g * GIB) for g in sorted({args.budget_gib, ACCELERATOR_GIB})}
        note_mem = (f"; {', '.join(f'{g:g} GiB fits batch {b}' for g, b in fits.items())} (memory analysis: "
                    f"{C.fmt(at_1 and at_1 / GIB, '.2f')} GiB at batch 1 + {C.fmt(per and per / GIB, '.2f')} GiB "
                    f"per example)")
        if args.real_batch:
            batches = [args.real_batch]
        elif jax.default_backend() == "cpu":  # a CPU host's RSS ran 1.6-2x the analysis (README): batch 1 only
            batches = [1]
        else:
            batches = [1] + ([b_max] if b_max and b_max > 1 else [])
    for b in batches:
        w = Workload(method, size, batch=b)
        flops_w = Workload(method, size, batch=b, ray_chunk=None, frozen=w.frozen) \
            if w.config.generator.get("ray_chunk") else None
        label = f"{method} {size} b{w.batch_size}"
        res = measure(label, w, flops_w, args.iters, peak, args.profile)
        note = f"configs/{method}{'_full' if size == 'real' else ''}.py, batch {w.batch_size}" + note_mem
        row = C.row_from_measure(f"train step: {method}", f"{size}, batch {w.batch_size}", res, peak, note=note)
        out.append((f"{method}_{size}_b{w.batch_size}", res, row))
        del w, flops_w
    return out


def run(args):
    jax = C.configure_jax(args.compilation_cache)
    sizes = [s for s in args.sizes.split(",") if s]
    methods = [m for m in args.methods.split(",") if m]
    if not sizes or any(s not in SIZES for s in sizes):
        raise ValueError(f"--sizes: expected a comma list of {SIZES}, got {args.sizes!r}")
    if not methods or any(m not in METHODS for m in methods):
        raise ValueError(f"--methods: expected a comma list of {METHODS}, got {args.methods!r}")
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if here not in sys.path:  # the configs package of this checkout
        sys.path.insert(0, here)
    report, peak = C.start_report("methods", {"sizes": sizes, "methods": methods, "iters": args.iters,
                                              "budget_gib": args.budget_gib})
    mm = report["matmul"]
    print(f"method train steps {methods} at {sizes} on {jax.default_backend()}; matmul {mm['n']}^2: "
          f"{peak:.1f} GFLOP/s", flush=True)
    results, rows = {}, []
    for size in sizes:
        for method in methods:
            for key, res, row in rows_for(method, size, args, peak):
                results[key] = res
                rows.append(row)
    return C.end_report(report, results, rows, markdown, args.json)


def markdown(report):
    lines = []
    tops = [(k, r["profile_top"]) for k, r in report["results"].items() if r.get("profile_top")]
    for key, top in tops:
        lines += ["", f"{key}: top ops by self time: "
                  + "; ".join(f"{100 * (o['share'] or 0):.0f}% {o['name']} ({o.get('what', '')})" for o in top)]
    return C.steps_markdown(report, extra=lines)


def main(argv=None):
    args = build_parser().parse_args(argv)
    return C.run_cli("bench_methods", run, args)


if __name__ == "__main__":
    sys.exit(main())
