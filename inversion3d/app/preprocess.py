"""`inversion3d preprocess`: photos -> aligned EG3D / PanoHead crops + dataset.json cameras (offline
MTCNN); prints every photo it could not use with the reason."""
import os

from inversion3d.app.loading import COMPILING
from inversion3d.preprocess.pipeline import preprocess_photos


def run(args, overrides=()):
    """Crops + dataset.json; prints every skipped photo with its reason; returns the summary."""
    if args.size < 16:
        raise ValueError(f"--size: expected >= 16, got {args.size}")
    if not args.min_size >= 0:
        raise ValueError(f"--min-size: expected >= 0 photo pixels, got {args.min_size}")
    if args.weights and not os.path.isdir(args.weights):
        raise ValueError(f"--weights: no such directory: {args.weights}")
    print(COMPILING.format(command="preprocess"), flush=True)
    summary = preprocess_photos(args.inputs, args.out, style=args.style, size=args.size, min_size=args.min_size,
                                require_single=args.require_single, camera_mode=args.camera,
                                weights_dir=args.weights, max_pixels=args.max_pixels, resume=args.resume,
                                overwrite=args.overwrite)
    for item in summary["used"]:
        cam = item["camera"]
        print(f"[preprocess] {item['source']} -> {os.path.join(args.out, item['image'])}: yaw {cam['yaw']:+.1f} deg, "
              f"elevation {cam['elevation']:+.1f} deg" + (f" ({item['note']})" if item["note"] else ""))
    for item in summary["skipped"]:
        print(f"[preprocess] NOT USED {item['source']}: {item['reason']}")
    print(f"[preprocess] {len(summary['used'])} used, {len(summary['skipped'])} not used; "
          f"report: {os.path.join(args.out, 'preprocess_report.json')}")
    if not summary["used"]:
        raise ValueError("IMAGES_OR_DIR: no usable photo (reasons above); no dataset.json written")
    print(f"[preprocess] cameras: {summary['dataset_json']}")
    return summary
