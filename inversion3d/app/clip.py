"""Frames of `invert --method innout`: an image (a 1-frame clip) or a video (imageio-ffmpeg), either used
as aligned crops (`--camera frontal`) or detected and aligned per frame with the project's
preprocessing (`--camera photo`), the landmarks and cameras smoothed over a sliding window."""
import os

import numpy as np

VIDEO_EXTS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".gif")


def is_video(path) -> bool:
    return os.path.splitext(str(path))[1].lower() in VIDEO_EXTS


def read_frames(path, max_frames=0, max_pixels=None):
    """-> (frames (T, H, W, 3) uint8, fps). A still image is one frame at fps 1."""
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")
    if not is_video(path):
        from inversion3d import images

        return np.asarray(images.read_rgb(path, max_pixels) if max_pixels else images.read_rgb(path))[None], 1.0
    import imageio.v2 as imageio

    try:
        reader = imageio.get_reader(path, format="FFMPEG")
    except Exception as err:  # noqa: BLE001 (imageio raises many kinds)
        raise ValueError(f"{path}: cannot read the video ({err})") from None
    fps = float(reader.get_meta_data().get("fps", 30.0) or 30.0)
    frames = []
    for frame in reader:
        frames.append(np.asarray(frame)[..., :3])
        if max_frames and len(frames) >= max_frames:
            break
    reader.close()
    if not frames:
        raise ValueError(f"{path}: the video has no frames")
    return np.stack(frames), fps


def window_mean(x, window: int):
    """Centred sliding-window mean over axis 0 (shrinking at the ends). x (T, ...)."""
    x = np.asarray(x, np.float64)
    half = max(int(window), 1) // 2
    return np.stack([x[max(0, t - half):t + half + 1].mean(axis=0) for t in range(x.shape[0])])


def smooth_labels(labels, window: int):
    """Camera labels (T, 25) averaged over the window, the rotation projected back onto SO(3) (SVD)."""
    mean = window_mean(labels, window)
    for t in range(mean.shape[0]):
        pose = mean[t, :16].reshape(4, 4)
        u, _, vt = np.linalg.svd(pose[:3, :3])
        pose[:3, :3] = u @ vt
        mean[t, :16] = pose.reshape(-1)
    return mean.astype(np.float32)


def align_frames(frames, size, window, weights_dir=None, log=print):
    """Per frame: MTCNN -> the largest confident face's landmarks; landmarks smoothed over `window`
    frames; EG3D crop + PnP camera from the smoothed landmarks; cameras smoothed again.
    Returns (crops (T, size, size, 3) uint8, labels (T, 25)). A frame without a face takes its
    neighbours' landmarks; a clip without any face is a ValueError."""
    from inversion3d.preprocess import align, pose
    from inversion3d.preprocess.mtcnn import detect_faces
    from inversion3d.preprocess.pipeline import PhotoRejected, choose_face
    from inversion3d.preprocess.weights import load_mtcnn_params

    params = load_mtcnn_params(weights_dir)
    marks = []
    for t, frame in enumerate(frames):
        try:
            faces = detect_faces(params, frame)
            marks.append(faces.landmarks[choose_face(faces)[0]].astype(np.float64))
        except PhotoRejected as err:
            log(f"[innout] frame {t}: {err}; using its neighbours' landmarks")
            marks.append(None)
    found = [i for i, m in enumerate(marks) if m is not None]
    if not found:
        raise ValueError("no face found in any frame of the clip")
    filled = np.stack([marks[min(found, key=lambda i: abs(i - t))] for t in range(len(marks))])
    smooth = window_mean(filled, window)
    crops, labels = [], []
    for frame, lm in zip(frames, smooth):
        crop = align.crop_eg3d(frame, lm, size)
        crops.append(crop.image)
        labels.append(pose.estimate_label(crop.apply(lm), crop.image.shape[0], "eg3d")[0])
    return np.stack(crops), smooth_labels(np.stack(labels), window)
