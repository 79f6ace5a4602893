"""LPIPS (AlexNet and VGG16) against the same network built in PyTorch in the test, random weights;
weights travel through real .pth files written by torch.save and our safe reader."""
import jax
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from converters.lpips import load_lpips_variables  # noqa: E402
from inversion3d.losses.lpips import ALEX, ALEX_TAPS, NETS, SCALE, SHIFT, VGG16, LPIPS  # noqa: E402,F401
from tests.tolerances import f32_tol  # noqa: E402


def torch_trunk(layers):
    """A torchvision-layout `features` Sequential built from our layer table."""
    mods, last = [], None
    for layer in layers:
        while len(mods) < layer[0]:  # a ReLU follows every conv
            mods.append(nn.ReLU())
        if layer[1] == "pool":
            mods.append(nn.MaxPool2d(3, 2) if layers is ALEX else nn.MaxPool2d(2, 2))
            continue
        _, _, out, k, s, p = layer
        mods.append(nn.Conv2d(last or 3, out, k, s, p))
        last = out
    mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def torch_lpips(trunk, heads, taps, x, y, spatial=False):
    shift = torch.tensor(SHIFT).view(1, 3, 1, 1)
    scale = torch.tensor(SCALE).view(1, 3, 1, 1)
    feats = []
    for inp in (x, y):
        h, outs = (inp - shift) / scale, []
        for i, m in enumerate(trunk):
            h = m(h)
            if isinstance(m, nn.ReLU) and i - 1 in taps:
                outs.append(h)
        feats.append(outs)
    total = 0
    for k, (fx, fy) in enumerate(zip(*feats)):
        nx = fx / (torch.sqrt(torch.sum(fx ** 2, dim=1, keepdim=True)) + 1e-10)
        ny = fy / (torch.sqrt(torch.sum(fy ** 2, dim=1, keepdim=True)) + 1e-10)
        head = heads[k]((nx - ny) ** 2)
        if spatial:  # the official LPIPS(spatial=True): each tap's map upsampled to the input size
            total = total + nn.Upsample(size=tuple(x.shape[2:]), mode="bilinear", align_corners=False)(head)
        else:
            total = total + head.mean(dim=(2, 3))
    return total if spatial else total[:, 0]


@pytest.mark.parametrize("net,size", [("alex", 64), ("vgg", 32)])
def test_lpips_matches_torch(tmp_path, net, size):
    torch.manual_seed(0)
    layers, taps = NETS[net][0], NETS[net][1]
    trunk = torch_trunk(layers)
    channels = [layer[2] for layer in layers if layer[1] == "conv" and layer[0] in taps]
    heads = nn.ModuleList([nn.Sequential(nn.Dropout(), nn.Conv2d(c, 1, 1, bias=False)) for c in channels])
    for h in heads:
        h[1].weight.data.uniform_(0, 0.1)
    trunk.eval(), heads.eval()
    torch.save({"features." + k: v for k, v in trunk.state_dict().items()}, tmp_path / "backbone.pth")
    torch.save({f"lin{k}.model.1.weight": h[1].weight.data for k, h in enumerate(heads)}, tmp_path / "heads.pth",
               _use_new_zipfile_serialization=False)  # the legacy format, as the v0.1 files are
    rs = np.random.RandomState(1)
    x = rs.uniform(-1, 1, (2, size, size, 3)).astype(np.float32)
    y = np.clip(x + 0.3 * rs.randn(*x.shape), -1, 1).astype(np.float32)
    with torch.no_grad():
        want = torch_lpips(trunk, heads, taps, torch.tensor(x).permute(0, 3, 1, 2),
                           torch.tensor(y).permute(0, 3, 1, 2)).numpy()
    variables = load_lpips_variables(net, tmp_path / "backbone.pth", tmp_path / "heads.pth")
    got = np.asarray(LPIPS(net).apply(variables, x, y))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # spatial=True: the distance map (N, H, W, 1) of the official LPIPS(spatial=True) (AlexNet's taps
    # upsample by non-integer factors); its mean is the scalar up to the upsampling's border weights
    with torch.no_grad():
        want_map = torch_lpips(trunk, heads, taps, torch.tensor(x).permute(0, 3, 1, 2),
                               torch.tensor(y).permute(0, 3, 1, 2), spatial=True).permute(0, 2, 3, 1).numpy()
    got_map = np.asarray(LPIPS(net, spatial=True).apply(variables, x, y))
    assert got_map.shape == (2, size, size, 1)
    np.testing.assert_allclose(got_map, want_map, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_map.mean(axis=(1, 2, 3)), got, rtol=0.1)
    # LPIPS(x, x) runs x through the trunk twice, as one batch [x, x]: the two batch slots agree to
    # float32 rounding only. Unit-normalised features off by at most delta = f32_tol(1, n) (n: the
    # longest conv contraction k * k * C_in) give LPIPS <= sum_k sum_c w_kc (2 delta)^2 (heads w >= 0).
    n, last = 0, 3
    for layer in layers:
        if layer[1] == "conv":
            n, last = max(n, layer[3] ** 2 * last), layer[2]
    bound = sum(float(h[1].weight.data.sum()) for h in heads) * (2 * f32_tol(1.0, n)) ** 2
    same = np.asarray(LPIPS(net).apply(variables, x, x))
    assert bound < got.min(), (bound, got)  # the rounding bound cannot hide the distance to a noisy copy
    assert np.all(same >= 0) and np.all(same <= bound), (same, bound)


def test_lpips_bad_input():
    with pytest.raises(ValueError, match="net: expected one of"):
        LPIPS("squeeze").init(jax.random.PRNGKey(0), np.zeros((1, 8, 8, 3)), np.zeros((1, 8, 8, 3)))
