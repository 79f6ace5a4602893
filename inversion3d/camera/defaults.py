"""The camera constants, declared once: the FFHQ rig of the official EG3D / PanoHead scripts.

Configs may pass other values (e.g. configs/demo.py's focal / radius / pivot); code that needs a
default takes it from here.
"""
import math

FFHQ_FOCAL = 4.2647  # normalised focal of gen_videos / the projector (eg3d.md §8); 2985.29 / 700
FFHQ_RADIUS = 2.7  # avg_camera_radius of the FFHQ releases, EG3D and PanoHead (eg3d.md §6, panohead.md §7)
FFHQ_PIVOT = (0.0, 0.0, 0.2)  # EG3D's avg_camera_pivot (eg3d.md §6)
PANOHEAD_PIVOT = (0.0, 0.0, 0.0)  # PanoHead's gen_samples / projector look at the origin (panohead.md §7)
DEFAULT_PIVOT = {"eg3d": FFHQ_PIVOT, "panohead": PANOHEAD_PIVOT}  # per generator kind, when a checkpoint has none
KINDS = tuple(DEFAULT_PIVOT)
FRONT = math.pi / 2  # yaw = pitch = pi/2 is the frontal view of LookAtPoseSampler (eg3d.md §8)
