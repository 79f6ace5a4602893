"""Finding and reading MTCNN's pretrained weights (never downloaded).

The weights are the ones the `facenet-pytorch` wheel ships in `facenet_pytorch/data/{pnet,rnet,onet}.pt`
(PyTorch state_dicts of the original MTCNN models). The package is installed without its
dependencies (`pip install --no-deps facenet-pytorch==2.6.0`, done by `make`); it is never imported
(its __init__ imports torch): the folder is located with `importlib.util.find_spec` and the files
are read with the safe reader in `converters/` (no code in them runs, torch is not needed).
"""
import importlib.util
import os

from inversion3d.preprocess.mtcnn_nets import params_from_state_dict

NETS = ("pnet", "rnet", "onet")
PACKAGE = "facenet_pytorch"
INSTALL_HINT = "install them with `pip install --no-deps facenet-pytorch==2.6.0` or pass weights_dir"


def facenet_data_dir():
    """The installed facenet_pytorch/data folder, or None when the package is not installed."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        folder = os.path.join(root, "data")
        if os.path.isdir(folder):
            return folder
    return None


def weight_paths(weights_dir=None):
    """{'pnet': path, 'rnet': path, 'onet': path} from weights_dir (holding pnet.pt, rnet.pt, onet.pt)
    or, when None, from the installed facenet-pytorch package. ValueError naming what is missing."""
    folder = weights_dir if weights_dir is not None else facenet_data_dir()
    if folder is None:
        raise ValueError(f"weights_dir: MTCNN weights not found (facenet-pytorch is not installed); {INSTALL_HINT}")
    paths = {net: os.path.join(os.fspath(folder), f"{net}.pt") for net in NETS}
    missing = [p for p in paths.values() if not os.path.isfile(p)]
    if missing:
        raise ValueError(f"weights_dir: missing MTCNN weight file(s) {', '.join(missing)}; {INSTALL_HINT}")
    return paths


def load_mtcnn_params(weights_dir=None):
    """{'pnet', 'rnet', 'onet'} -> Flax variables, read from facenet-pytorch's .pt files (see module doc)."""
    from converters.load import split_arrays
    from converters.torch_format import read_checkpoint_object

    params = {}
    for net, path in weight_paths(weights_dir).items():
        state_dict, _ = split_arrays(read_checkpoint_object(path))
        try:
            params[net] = params_from_state_dict(net, state_dict)
        except ValueError as err:
            raise ValueError(f"weights_dir: {path}: {err}") from None
    return params
