"""`inversion3d export WORKDIR --out DIR`: a training run's latest encoder(s) as a converted directory
(the layout `inversion3d convert` writes), read by `invert --encoder DIR` (methods/workdir.py)."""
import os


def run(args, overrides=()):
    from inversion3d.methods import workdir

    if not workdir.is_workdir(args.workdir):
        raise ValueError(f"WORKDIR: {args.workdir} is not a training workdir (no checkpoints/ folder)")
    path = workdir.export(args.workdir, args.out)
    print(f"[export] {args.workdir} -> {path} ({', '.join(sorted(os.listdir(path)))})", flush=True)
    return path
