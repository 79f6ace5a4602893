"""`inversion3d convert` (official .pkl / .pth -> a directory `load_generator` / `load_encoder` read;
never runs code from the file) and `inversion3d info` (what a checkpoint holds)."""
from converters.convert import convert, info


def _floats(text, flag):
    if text is None:
        return None
    try:
        return [float(v) for v in str(text).split(",")]
    except ValueError:
        raise ValueError(f"{flag}: expected comma-separated numbers like 0.485,0.456,0.406, got {text!r}") from None


def run(args, overrides=()):
    names = getattr(args, "attributes", None)
    classifier = {"input_size": getattr(args, "input_size", None),
                  "mean": _floats(getattr(args, "mean", None), "--mean"),
                  "std": _floats(getattr(args, "std", None), "--std"),
                  "attributes": None if names is None else [n.strip() for n in names.split(",")]}
    return run_convert(args.src, args.dst, args.network, args.kind, getattr(args, "role", None), classifier)


def run_convert(src, dst, network="G_ema", kind="auto", role=None, classifier=None):
    """Converts one official file (converters/convert.py) and prints a one-line summary. role: a Dual
    Encoder file's role, e1 | visible | e2 | occluded (stored as e1 / e2)."""
    summary = convert(src, dst, network=network, kind=kind, role=role, classifier=classifier)
    print(f"[convert] {src} -> {summary['dst']}: kind {summary['kind']}, network {summary['network']}, "
          f"layout {summary['layout']}, {summary['num_arrays']} arrays, {summary['num_elements']:,} values, "
          f"{summary['seconds']:.1f}s" + (f", Dual Encoder role {summary['role']}" if summary.get("role") else ""))
    return summary


def run_info(args, overrides=()):
    """Prints what `args.file` holds (networks, kwargs, parameter count, dtype)."""
    lines = info(args.file)
    print("\n".join(lines))
    return lines
