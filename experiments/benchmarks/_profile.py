"""Where the time of one call goes: a jax.profiler trace reduced to the top XLA ops by self time.

`trace_call(fn, out_dir)` runs `fn()` once under `jax.profiler.trace(create_perfetto_trace=True)`
(the trace stays in out_dir for TensorBoard / Perfetto), then reads the Chrome-trace JSON it wrote:
device events ('/device:*' processes) when there are any (GPU / TPU), else the host's XLA thread
events (CPU thunks: fusions, convolutions, custom calls). Python frames ('$...') and PjRt
bookkeeping are dropped; nested events (a while loop around its body) count their self time only.
"""
import collections
import glob
import gzip
import json
import os
import time

import _common as C

_BOOKKEEPING = ("PjitFunction", "PjRt", "Execute", "ParseArguments", "Handle input", "Allocate",
                "CollectGarbage", "Await", "end: ")


def _is_op(name):
    return not name.startswith("$") and "::" not in name and not any(name.startswith(b) for b in _BOOKKEEPING)


def self_times(events, threads=None):
    """{name: [self microseconds, count]} of complete ('X') events, per (pid, tid) nesting."""
    by_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e and (threads is None or (e.get("pid"), e.get("tid")) in threads):
            by_thread[(e.get("pid"), e.get("tid"))].append(e)
    out = collections.defaultdict(lambda: [0.0, 0])
    for evs in by_thread.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []  # [end, name, child time]
        for e in evs:
            while stack and e["ts"] >= stack[-1][0]:
                _close(stack.pop(), out)
            if stack:
                stack[-1][2] += e["dur"]
            stack.append([e["ts"] + e["dur"], e["name"], 0.0, e["dur"]])
        while stack:
            _close(stack.pop(), out)
    return out


def _close(frame, out):
    end, name, child, dur = frame
    out[name][0] += max(0.0, dur - child)
    out[name][1] += 1


def op_threads(events):
    """(pid, tid) pairs whose events are XLA ops: device processes if any, else non-Python host threads."""
    procs = {e["pid"]: e["args"]["name"] for e in events if e.get("ph") == "M" and e.get("name") == "process_name"}
    names = {(e["pid"], e.get("tid")): e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    device = {pid for pid, n in procs.items() if n.startswith("/device:")}
    if device:
        return {k for k in names if k[0] in device} | {(e.get("pid"), e.get("tid")) for e in events
                                                       if e.get("pid") in device}
    return {k for k, n in names.items() if n != "python"}


def trace_call(fn, out_dir, top=15):
    """Runs fn() once under the profiler; -> dict with wall time, the top-`top` ops and the trace path."""
    import jax

    os.makedirs(out_dir, exist_ok=True)
    t0 = time.perf_counter()
    with jax.profiler.trace(out_dir, create_perfetto_trace=True):
        C.block(fn())
    wall = time.perf_counter() - t0
    paths = sorted(glob.glob(os.path.join(out_dir, "**", "*.trace.json.gz"), recursive=True), key=os.path.getmtime)
    if not paths:
        return {"wall_s": wall, "error": "no *.trace.json.gz written", "top": []}
    with gzip.open(paths[-1]) as fh:
        data = json.load(fh)
    events = data["traceEvents"] if isinstance(data, dict) else data
    times = self_times(events, op_threads(events))
    ops = sorted(((n, t, k) for n, (t, k) in times.items() if _is_op(n)), key=lambda x: -x[1])
    total = sum(t for _, t, _ in ops)
    return {"wall_s": wall, "trace": paths[-1], "op_time_s": total / 1e6,
            "top": [{"name": n, "self_s": t / 1e6, "count": k, "share": t / total if total else None}
                    for n, t, k in ops[:top]]}


def summary_text(title, prof, stages=None, descriptions=None):
    """A short plain-text report: the stage split (if given) and the top ops by self time."""
    lines = [title, ""]
    if stages:
        total = sum(v for v in stages.values() if v)
        lines.append("Stage split (each stage jitted alone, median of its calls):")
        for name, sec in stages.items():
            lines.append(f"  {name:<28s} {C.fmt(sec, '8.3f')} s  {C.fmt(sec and total and 100 * sec / total, '5.1f')}%")
        lines.append("")
    lines.append(f"Profiled call: {prof['wall_s']:.3f} s wall; {C.fmt(prof.get('op_time_s'), '.3f')} s in XLA ops "
                 f"(summed over threads). Top ops by self time:")
    for op in prof["top"]:
        what = (descriptions or {}).get(op["name"], "")
        lines.append(f"  {100 * (op['share'] or 0):5.1f}%  {op['self_s']:8.3f} s  x{op['count']:<5d} {op['name']}"
                     + (f"  {what}" if what else ""))
    if prof.get("trace"):
        lines += ["", f"trace: {prof['trace']} (open in Perfetto / TensorBoard)"]
    return "\n".join(lines)


def describe_ops(hlo_text, names):
    """{op name: 'shape opcode [ops inside the fused computation]'} from a compiled module's HLO text,
    so a trace's 'ynn_fusion.5' can be read as e.g. 'f32[4096,96,64] fusion [dot, add, ...]'."""
    import re

    out = {}
    for name in names:
        m = re.search(rf"^\s*(?:ROOT )?%?{re.escape(name)} = (\S+) ([\w\-]+)\((.*)$", hlo_text, re.M)
        if not m:
            continue
        shape, opcode, rest = m.groups()
        desc = f"{shape} {opcode}"
        calls = re.search(r"calls=%?([\w.\-]+)", rest)
        if calls:
            body = re.search(rf"^%?{re.escape(calls.group(1))} .*?\{{\n(.*?)^\}}", hlo_text, re.M | re.S)
            if body:
                ops = re.findall(r"= \S+ ([\w\-]+)\(", body.group(1))
                interesting = [o for o in dict.fromkeys(ops) if o not in ("parameter", "constant", "bitcast",
                                                                           "broadcast", "reshape", "copy")]
                desc += " [" + ", ".join(interesting[:6]) + "]"
        source = re.search(r'op_name="([^"]*)"', rest)
        if source:  # the JAX op it came from, e.g. jit(synthesize)/.../dot_general
            desc += " <- " + "/".join(source.group(1).split("/")[-3:])
        out[name] = desc
    return out


def profile_forward(gen, ws, c, out_dir, label, iters=1, stages=True):
    """Traces one steady `gen.synthesis(ws, c)` (an api.Generator) into out_dir, describes its top ops
    from the executable's HLO and, with `stages`, times backbone / render + SR / SR jitted alone.
    Writes out_dir/summary.txt; -> dict (stages_s, trace summary, text)."""
    import jax
    import numpy as np

    from inversion3d.generators import eg3d

    cfg = gen.config
    C.block(gen.synthesis(ws, c))  # compiled for this batch
    prof = trace_call(lambda: gen.synthesis(ws, c), out_dir)
    descriptions = {}
    try:  # the handle's jit answers lower().compile() from its cache: the executable that ran
        hlo = gen._synthesis.lower(gen.params, ws, c, noise_mode="const", rng=None, draws=None,
                                   neural_rendering_resolution=cfg.neural_rendering_resolution,
                                   capture=False).compile().as_text()
        descriptions = describe_ops(hlo, [op["name"] for op in prof["top"]])
    except Exception as err:  # a description is a convenience; the timings stand without it
        print(f"  (no HLO op descriptions: {type(err).__name__}: {err})")
    prof["descriptions"] = descriptions
    split = {}
    if stages:
        module, v = gen.module, gen.params
        planes_fn = jax.jit(lambda v, ws: module.apply(v, ws, "const", method=eg3d.TriPlaneGenerator.planes))
        planes = C.block(planes_fn(v, ws))
        rendered = jax.jit(lambda v, p, ws, c: eg3d.render_planes(cfg, v, p, ws, c))(v, planes, ws, c)
        feats, rgb = rendered["feature_image"], rendered["image_raw_render"]  # the SR inputs
        sr_fn = jax.jit(lambda v, rgb, f, ws: module.apply(v, rgb, f, ws, cfg.sr_noise_mode,
                                                           method=eg3d.TriPlaneGenerator.superresolve))
        whole = jax.jit(lambda v, p, ws, c: eg3d.render_planes(cfg, v, p, ws, c)["image"])
        timings = {}
        for name, fn, a in (("backbone", planes_fn, (v, ws)), ("render+sr", whole, (v, planes, ws, c)),
                            ("sr", sr_fn, (v, rgb, feats, ws))):
            C.block(fn(*a))
            timings[name] = float(np.median(C.repeat(lambda: fn(*a), iters)))
        # render_planes minus SR = the renderer + decoder (+ PanoHead's background and raw ToRGB)
        split = {"backbone": timings["backbone"],
                 "renderer (+ decoder)": max(0.0, timings["render+sr"] - timings["sr"]),
                 "super-resolution": timings["sr"]}
    text = summary_text(f"Profile of one {cfg.kind} forward, {label}, neural {cfg.neural_rendering_resolution}, "
                        f"ray_chunk {cfg.render.ray_chunk}, backend {jax.default_backend()} ({C.device_kind()})",
                        prof, split, descriptions)
    with open(os.path.join(out_dir, "summary.txt"), "w") as fh:
        fh.write(text + "\n")
    print("\n" + text + f"\nwrote {os.path.join(out_dir, 'summary.txt')}", flush=True)
    return {"stages_s": split, **prof, "summary": text}
