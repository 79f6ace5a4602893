"""`inversion3d convert` (official .pkl / .pth -> a directory `load_generator` / `load_encoder` read;
never runs code from the file) and `inversion3d info` (what a checkpoint holds)."""
from converters.convert import convert, info


def run(args, overrides=()):
    return run_convert(args.src, args.dst, args.network, args.kind, getattr(args, "role", None))


def run_convert(src, dst, network="G_ema", kind="auto", role=None):
    """Converts one official file (converters/convert.py) and prints a one-line summary. role: a Dual
    Encoder file's role, e1 | visible | e2 | occluded (stored as e1 / e2)."""
    summary = convert(src, dst, network=network, kind=kind, role=role)
    print(f"[convert] {src} -> {summary['dst']}: kind {summary['kind']}, network {summary['network']}, "
          f"layout {summary['layout']}, {summary['num_arrays']} arrays, {summary['num_elements']:,} values, "
          f"{summary['seconds']:.1f}s" + (f", Dual Encoder role {summary['role']}" if summary.get("role") else ""))
    return summary


def run_info(args, overrides=()):
    """Prints what `args.file` holds (networks, kwargs, parameter count, dtype)."""
    lines = info(args.file)
    print("\n".join(lines))
    return lines
