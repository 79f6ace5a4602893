"""The part table of a synthetic head: base geometry of every part at scale 1.

World units and frame are EG3D's (eg3d.md §8): +y up, the face looks towards +z, cameras orbit the
origin at radius 2.7 with the FFHQ focal, so the image spans about +-0.29 units at the look-at pivot
(0, 0, 0.2). Sizes follow an FFHQ crop (EG3D's re-crop): top of the hair near the top edge, eyes just
above the centre, chin at about 3/4 of the height, shoulders in the lower corners; 1 unit is about
60 cm (eye spacing 0.09, head height 0.38).

Each row: name, group, slot, centre, radii, Euler angles (x, y, z), clip (normal, offset), centre
jitter, radius jitter. Parts named *_l are mirrored to *_r (x negated, angles y, z negated). Parts
of one `slot` share their random jitter (an eye moves with its socket, the glasses as one piece).
Groups: skin (one smooth union), lip (in the skin union, lip colour), socket (carved from the skin),
eye, brow, hair, cloth, and the accessories hat, glasses, hand (occluders, with their own mask).
"""
import hashlib
import math

import numpy as np

_N = 0.7809  # (0, -_N, _P) is the unit normal of the hairline plane: hair keeps y >= 0.8 z - 0.017
_P = 0.6247
_HAIRLINE = ((0.0, -_N, _P), 0.0133)
_NO_CLIP = ((0.0, 0.0, 0.0), 1.0)

# name, group, slot, centre, radii, angles, clip, centre jitter, radius jitter
_LEFT_PARTS = (
    ("cranium", "skin", "cranium", (0, 0.07, -0.02), (0.125, 0.15, 0.16), (0, 0, 0), _NO_CLIP, 0.004, 0.06),
    ("face", "skin", "face", (0, -0.01, 0.04), (0.115, 0.12, 0.13), (0, 0, 0), _NO_CLIP, 0.004, 0.07),
    ("jaw", "skin", "jaw", (0, -0.09, 0.05), (0.09, 0.065, 0.1), (0, 0, 0), _NO_CLIP, 0.006, 0.12),
    ("chin", "skin", "chin", (0, -0.14, 0.11), (0.035, 0.025, 0.03), (0, 0, 0), _NO_CLIP, 0.005, 0.15),
    ("cheek_l", "skin", "cheek", (0.06, -0.01, 0.1), (0.045, 0.035, 0.05), (0, 0, 0), _NO_CLIP, 0.005, 0.15),
    ("nose_bridge", "skin", "nose", (0, 0.0, 0.155), (0.017, 0.045, 0.025), (-0.35, 0, 0), _NO_CLIP, 0.003, 0.12),
    ("nose_tip", "skin", "nose", (0, -0.035, 0.175), (0.024, 0.02, 0.024), (0, 0, 0), _NO_CLIP, 0.003, 0.15),
    ("nostril_l", "skin", "nostril", (0.018, -0.042, 0.163), (0.014, 0.012, 0.014), (0, 0, 0), _NO_CLIP, 0.002, 0.15),
    ("ear_l", "skin", "ear", (0.122, 0.015, -0.01), (0.014, 0.045, 0.028), (0, 0.35, 0), _NO_CLIP, 0.004, 0.15),
    ("neck", "skin", "neck", (0, -0.2, -0.02), (0.066, 0.13, 0.068), (0, 0, 0), _NO_CLIP, 0.004, 0.12),
    ("lip_upper", "lip", "lips", (0, -0.073, 0.148), (0.032, 0.008, 0.016), (0, 0, 0), _NO_CLIP, 0.003, 0.15),
    ("lip_lower", "lip", "lips", (0, -0.087, 0.145), (0.029, 0.0095, 0.016), (0, 0, 0), _NO_CLIP, 0.003, 0.15),
    ("socket_l", "socket", "eye", (0.045, 0.035, 0.16), (0.03, 0.022, 0.025), (0, 0, 0), _NO_CLIP, 0.003, 0.08),
    ("eye_l", "eye", "eye", (0.045, 0.03, 0.128), (0.018, 0.018, 0.018), (0, 0, 0), _NO_CLIP, 0.003, 0.05),
    ("brow_l", "brow", "brow", (0.047, 0.062, 0.145), (0.028, 0.006, 0.01), (0, 0, -0.12), _NO_CLIP, 0.004, 0.2),
    ("torso", "cloth", "torso", (0, -0.38, -0.04), (0.22, 0.13, 0.12), (0, 0, 0), _NO_CLIP, 0.006, 0.1),
    ("shoulder_l", "cloth", "shoulder", (0.16, -0.285, -0.04), (0.13, 0.055, 0.085), (0, 0, -0.25), _NO_CLIP,
     0.01, 0.12),
    ("hair_cap", "hair", "hair", (0, 0.075, -0.025), (0.135, 0.16, 0.172), (0, 0, 0), _HAIRLINE, 0.003, 0.04),
    ("hair_volume", "hair", "hair", (0, 0.1, -0.03), (0.16, 0.16, 0.185), (0, 0, 0), _HAIRLINE, 0.005, 0.1),
    ("hair_back", "hair", "hair_long", (0, -0.06, -0.08), (0.13, 0.19, 0.09), (0, 0, 0), ((0, 0, 1), 0.0), 0.01, 0.12),
    ("hair_side_l", "hair", "hair_side", (0.1, -0.02, 0.0), (0.045, 0.13, 0.1), (0, 0, 0), ((0, 0, 1), 0.06),
     0.006, 0.12),
    ("hair_bun", "hair", "hair_bun", (0, 0.17, -0.12), (0.055, 0.055, 0.055), (0, 0, 0), _NO_CLIP, 0.015, 0.2),
    ("hair_fringe", "hair", "hair_fringe", (0, 0.11, 0.09), (0.11, 0.035, 0.065), (0, 0, 0), _NO_CLIP, 0.004, 0.1),
    ("hat_crown", "hat", "hat", (0, 0.16, -0.02), (0.15, 0.11, 0.175), (0, 0, 0), ((0, -1, 0), -0.11), 0.006, 0.06),
    ("hat_brim", "hat", "hat", (0, 0.11, 0.03), (0.2, 0.012, 0.22), (0, 0, 0), _NO_CLIP, 0.006, 0.1),
    ("lens_l", "glasses", "glasses", (0.045, 0.032, 0.178), (0.026, 0.02, 0.003), (0, 0, 0), _NO_CLIP, 0.004, 0.15),
    ("glasses_bridge", "glasses", "glasses", (0, 0.036, 0.185), (0.02, 0.003, 0.003), (0, 0, 0), _NO_CLIP, 0.004, 0.0),
    ("glasses_arm_l", "glasses", "glasses", (0.112, 0.036, 0.095), (0.003, 0.003, 0.085), (0, 0, 0), _NO_CLIP,
     0.004, 0.0),
    ("palm", "hand", "hand", (0.055, -0.14, 0.2), (0.045, 0.05, 0.017), (0, 0, 0), _NO_CLIP, 0.04, 0.1),
    ("finger_1", "hand", "hand", (0.022, -0.065, 0.205), (0.0085, 0.032, 0.0085), (0, 0, 0.1), _NO_CLIP, 0.04, 0.1),
    ("finger_2", "hand", "hand", (0.042, -0.058, 0.205), (0.0085, 0.036, 0.0085), (0, 0, 0.03), _NO_CLIP, 0.04, 0.1),
    ("finger_3", "hand", "hand", (0.062, -0.06, 0.205), (0.0085, 0.034, 0.0085), (0, 0, -0.03), _NO_CLIP, 0.04, 0.1),
    ("finger_4", "hand", "hand", (0.082, -0.07, 0.205), (0.008, 0.028, 0.008), (0, 0, -0.1), _NO_CLIP, 0.04, 0.1),
    ("thumb", "hand", "hand", (0.0, -0.135, 0.212), (0.03, 0.009, 0.009), (0, 0, 0.5), _NO_CLIP, 0.04, 0.1),
)


def _mirror(row):
    name, group, slot, c, r, a, (n, o), cj, rj = row
    return (name[:-2] + "_r", group, slot, (-c[0], c[1], c[2]), r, (a[0], -a[1], -a[2]),
            ((-n[0], n[1], n[2]), o), cj, rj)


PARTS = tuple(row for base in _LEFT_PARTS for row in ((base, _mirror(base)) if base[0].endswith("_l") else (base,)))
NAMES = tuple(row[0] for row in PARTS)
GROUPS = tuple(row[1] for row in PARTS)
SLOTS = tuple(sorted(set(row[2] for row in PARTS)))
SLOT_INDEX = np.array([SLOTS.index(row[2]) for row in PARTS], np.int32)
CENTRE = np.array([row[3] for row in PARTS], np.float32)
RADII = np.array([row[4] for row in PARTS], np.float32)
ANGLES = np.array([row[5] for row in PARTS], np.float32)
CLIP_NORMAL = np.array([row[6][0] for row in PARTS], np.float32)
CLIP_OFFSET = np.array([row[6][1] for row in PARTS], np.float32)
CENTRE_JITTER = np.array([row[7] for row in PARTS], np.float32)
RADIUS_JITTER = np.array([row[8] for row in PARTS], np.float32)
MIRROR_SIGN = np.where(CENTRE[:, 0] < 0, -1.0, 1.0).astype(np.float32)  # right parts move mirrored

ACCESSORIES = ("hat", "glasses", "hand")
HAIR_STYLES = {  # style -> hair parts it switches on
    "bald": (),
    "short": ("hair_cap",),
    "bob": ("hair_cap", "hair_side_l", "hair_side_r"),
    "long": ("hair_cap", "hair_side_l", "hair_side_r", "hair_back"),
    "bun": ("hair_cap", "hair_bun"),
    "volume": ("hair_volume",),
    "fringe": ("hair_cap", "hair_fringe", "hair_side_l", "hair_side_r"),
}
# head parts scale together about the head centre; body parts (neck, clothes) do not
HEAD_GROUPS = ("skin", "lip", "socket", "eye", "brow", "hair", "hat", "glasses")
BODY_PARTS = ("neck", "torso", "shoulder_l", "shoulder_r")
HEAD_CENTRE = (0.0, 0.03, 0.0)


def digest():
    """A short hash of the table: a split's record keeps it, so data of another table is never mixed in."""
    table = np.concatenate([CENTRE, RADII, ANGLES, CLIP_NORMAL, CLIP_OFFSET[:, None], CENTRE_JITTER[:, None],
                            RADIUS_JITTER[:, None]], 1)
    text = repr((NAMES, GROUPS, tuple(p[2] for p in PARTS), HAIR_STYLES, HEAD_GROUPS, BODY_PARTS, HEAD_CENTRE))
    return hashlib.sha256(text.encode() + table.astype(np.float32).tobytes()).hexdigest()[:12]


def indices(groups=None, names=None):
    """Sorted part indices whose group is in `groups` or whose name is in `names`."""
    groups, names = tuple(groups or ()), tuple(names or ())
    return np.array([i for i, (n, g) in enumerate(zip(NAMES, GROUPS)) if g in groups or n in names], np.int32)


def style_table():
    """(S, P) float32: 1 where hair style s (in HAIR_STYLES order) shows part p."""
    return np.array([[float(n in shown) for n in NAMES] for shown in HAIR_STYLES.values()], np.float32)


assert len(set(NAMES)) == len(NAMES) and math.isfinite(float(CENTRE.sum()))
