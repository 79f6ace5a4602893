"""MTCNN networks: the Flax port against the same networks written in PyTorch (torch test extra),
with the real pretrained weights from facenet-pytorch's wheel; weight-file errors."""
import numpy as np
import pytest

from inversion3d.preprocess import weights
from inversion3d.preprocess.mtcnn import _onet, _pnet, _rnet
from inversion3d.preprocess.mtcnn_nets import ARCHITECTURES, HEADS, params_from_state_dict

TOL = 1e-5


def _torch_net(torch, kind, state_dict):
    """The layer list of ARCHITECTURES / HEADS built with torch.nn (NCHW; flatten in (W, H, C) order)."""
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, channels, flat = [], 3, None
            for name, op, kernel, features in ARCHITECTURES[kind]:
                if op == "conv":
                    layer, channels = nn.Conv2d(channels, features, kernel), features
                elif op == "prelu":
                    layer = nn.PReLU(features)
                elif op == "pool":
                    layer = nn.MaxPool2d(kernel, 2, ceil_mode=True)
                elif op == "flatten":
                    layer, flat = None, True
                else:
                    layer = nn.Linear(state_dict[f"{name}.weight"].shape[1], features)
                if layer is not None:
                    self.add_module(name, layer)
                self.body.append((name, op))
            self.flat = flat
            for name, op, n_out in HEADS[kind]:
                width = 256 if kind == "onet" else 128
                self.add_module(name, nn.Conv2d(channels, n_out, 1) if op == "conv" else nn.Linear(width, n_out))

        def forward(self, x):
            for name, op in self.body:
                x = x.permute(0, 3, 2, 1).reshape(x.shape[0], -1) if op == "flatten" else getattr(self, name)(x)
            return [getattr(self, name)(x) for name, _, _ in HEADS[kind]]

    net = Net()
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state_dict.items()})
    return net.eval()


@pytest.mark.parametrize("kind,shape", [("pnet", (2, 37, 45)), ("rnet", (5, 24, 24)), ("onet", (3, 48, 48))])
def test_parity_with_torch(kind, shape):
    torch = pytest.importorskip("torch")
    from converters.load import split_arrays
    from converters.torch_format import read_checkpoint_object

    state_dict, _ = split_arrays(read_checkpoint_object(weights.weight_paths()[kind]))
    x = np.random.RandomState(0).uniform(-1, 1, shape + (3,)).astype(np.float32)
    with torch.no_grad():
        want = [t.numpy() for t in _torch_net(torch, kind, state_dict)(torch.from_numpy(x).permute(0, 3, 1, 2))]
    got = {"pnet": _pnet, "rnet": _rnet, "onet": _onet}[kind](params_from_state_dict(kind, state_dict), x)
    prob_want = torch.softmax(torch.from_numpy(want[0]), dim=1).numpy()[:, 1]
    if kind == "pnet":  # NCHW maps -> NHWC
        np.testing.assert_allclose(np.asarray(got["prob"]), prob_want, atol=TOL)
        np.testing.assert_allclose(np.asarray(got["reg"]), want[1].transpose(0, 2, 3, 1), atol=TOL)
        assert got["prob"].shape == (2, 14, 18)  # ceil((37 - 2) / 2) - 4, ceil((45 - 2) / 2) - 4
    else:
        np.testing.assert_allclose(np.asarray(got["prob"]), prob_want, atol=TOL)
        np.testing.assert_allclose(np.asarray(got["reg"]), want[1], atol=TOL)
    if kind == "onet":
        np.testing.assert_allclose(np.asarray(got["landmarks"]), want[2], atol=TOL)


def test_weights_found_in_installed_package(mtcnn_params):
    folder = weights.facenet_data_dir()
    assert folder is not None and folder.endswith("data")
    assert set(mtcnn_params) == {"pnet", "rnet", "onet"}
    assert mtcnn_params["onet"]["params"]["dense5"]["weight"].shape == (1152, 256)


def test_missing_weights_dir_names_the_files(tmp_path):
    with pytest.raises(ValueError, match=r"missing MTCNN weight file\(s\) .*pnet\.pt.*--no-deps facenet-pytorch"):
        weights.load_mtcnn_params(tmp_path)


def test_wrong_state_dict_is_refused():
    with pytest.raises(ValueError, match=r"state_dict: not an MTCNN rnet \(missing \['conv1.bias'"):
        params_from_state_dict("rnet", {"conv1.weight": np.zeros((28, 3, 3, 3))})
