"""Writing results safely: atomic writes (temp file in the same folder, then rename) and checked
output folders, so no half-written file is ever left behind."""
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
