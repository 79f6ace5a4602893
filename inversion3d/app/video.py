"""Writing frame sequences as mp4 (imageio + the ffmpeg binary bundled in imageio-ffmpeg) or gif."""
import os

import numpy as np

from inversion3d.files import atomic_write

VIDEO_FORMATS = ("mp4", "gif")


def write_video(path, frames, fps=30):
    """frames: sequence of uint8 (H, W, 3) -> `path` (.mp4 or .gif), written atomically."""
    import warnings

    import imageio.v2 as imageio

    # imageio-ffmpeg starts its bundled ffmpeg binary as a subprocess; the exec happens right after
    # the fork, so JAX's fork warning does not apply.
    warnings.filterwarnings("ignore", message="os.fork\\(\\) was called", category=RuntimeWarning)

    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if ext not in VIDEO_FORMATS:
        raise ValueError(f"video: expected a .mp4 or .gif path, got {path!r}")

    def write(tmp):
        if ext == "mp4":
            # macro_block_size 1: keep odd sizes as they are instead of rescaling them.
            with imageio.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264", quality=8,
                                    macro_block_size=1) as writer:
                for frame in frames:
                    writer.append_data(np.asarray(frame, np.uint8))
        else:
            imageio.mimsave(tmp, [np.asarray(f, np.uint8) for f in frames], format="GIF",
                            duration=1000.0 / fps, loop=0)

    return atomic_write(path, write)
