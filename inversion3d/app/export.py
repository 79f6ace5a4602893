"""`inversion3d export WORKDIR --out DIR`: a training run's latest encoder(s) as a converted directory
(the layout `inversion3d convert` writes), read by `invert --encoder DIR` (methods/workdir.py); a Dual
Encoder run writes two, DIR/e1 and DIR/e2 (`invert --method dual --encoder DIR/e1 --encoder2 DIR/e2`); a
GAN run of the generator (configs/eg3d_gan.py) writes its G_ema, read by `render DIR` / `--generator DIR`."""
import os


def run(args, overrides=()):
    from inversion3d.methods import workdir

    if not workdir.is_workdir(args.workdir):
        raise ValueError(f"WORKDIR: {args.workdir} is not a training workdir (no checkpoints/ folder)")
    paths = workdir.export(args.workdir, args.out, storage=args.storage)
    for path in paths:
        print(f"[export] {args.workdir} -> {path} ({', '.join(sorted(os.listdir(path)))})", flush=True)
    return paths
