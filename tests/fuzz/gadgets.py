"""A gadget hostile checkpoints name: calling it records the call in FIRED and creates the files
listed in SENTINEL, so a test sees whether a reader ever executed anything."""
import pathlib

FIRED = []
SENTINEL = []  # [path] set by the test that owns the gadget


def trigger(*args, **kwargs):
    FIRED.append(args)
    for path in SENTINEL:
        pathlib.Path(path).write_text("gadget fired")
    return trigger


def fired() -> bool:
    return bool(FIRED) or any(pathlib.Path(p).exists() for p in SENTINEL)
