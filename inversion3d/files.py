"""Writing results safely: atomic writes (temp file in the same folder, then rename) and checked
output folders, so no half-written file is ever left behind; since a file that exists is complete,
`resume_plan` decides from their presence which items a rerun skips (--resume) or redoes (--overwrite)."""
import json
import os
import tempfile


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write):
    """Calls write(tmp_path) on a temp file next to `path`, then renames it to `path`.

    The file gets the usual permissions (0666 minus the umask); on any error the temp file is removed.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.splitext(path)[1])
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_json(path, data):
    """`data` as indented JSON at `path`, atomically (atomic_write); returns the path."""
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
    return atomic_write(path, write)


def ensure_writable_dir(path):
    """Creates `path` if needed and checks it is writable; ValueError naming it otherwise."""
    path = os.fspath(path)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        raise ValueError(f"out: cannot create output directory {path}: {err.strerror}") from None
    if not os.access(path, os.W_OK):
        raise ValueError(f"out: output directory {path} is not writable")
    return path


def check_writable_dir(path):
    """Checks that `path` is, or can be created as, a writable folder, creating nothing (so a run that
    fails later leaves no empty output folder); ValueError naming it otherwise."""
    path = os.path.abspath(os.fspath(path))
    if os.path.lexists(path) and not os.path.isdir(path):
        raise ValueError(f"out: {path} exists and is not a directory")
    existing = path
    while not os.path.isdir(existing):
        parent = os.path.dirname(existing)
        if os.path.lexists(existing) or parent == existing:  # a file on the way: makedirs would fail
            raise ValueError(f"out: cannot create output directory {path}: {existing} is not a directory")
        existing = parent
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"out: cannot create output directory {path}: {existing} is not writable")
    return path


def outputs_exist(paths):
    """True when every file of one item is there (files are written atomically: present = complete)."""
    return all(os.path.isfile(p) for p in paths)


def resume_plan(done, total, out_dir, names, resume=False, overwrite=False, what="item"):
    """Indices of the `total` items to (re)do, given the indices `done` whose outputs exist already:
    all with `overwrite`, the others with `resume`; without either, finished items are a ValueError
    (nothing is replaced silently). `names`: the finished items' names, for messages."""
    if resume and overwrite:
        raise ValueError("--resume / --overwrite: pick one")
    if not done or overwrite:
        return list(range(total))
    if not resume:
        shown = ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")
        raise ValueError(f"out: {out_dir} already holds the outputs of {len(done)} {what}(s) ({shown}); pass "
                         f"--resume to skip them or --overwrite to replace them")
    print(f"[resume] {len(done)} of {total} {what}(s) already done in {out_dir}, skipped", flush=True)
    return [i for i in range(total) if i not in set(done)]
