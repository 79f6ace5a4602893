"""FID Inception-v3 against the same network built in PyTorch in the test (random weights, BatchNorm
statistics set), loaded from a torch.save file through the safe reader. 75x75 inputs keep it fast
(the network resizes to 299 only when asked; here both sides see the same 299 input)."""
import jax
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from converters.inception import load_inception_variables  # noqa: E402
from inversion3d.metrics.inception import FIDInceptionV3  # noqa: E402


class Basic(nn.Module):
    def __init__(self, cin, cout, k=1, s=1, p=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, p, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def avg(x):
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


class A(nn.Module):
    def __init__(self, cin, pf):
        super().__init__()
        self.branch1x1 = Basic(cin, 64)
        self.branch5x5_1, self.branch5x5_2 = Basic(cin, 48), Basic(48, 64, 5, p=2)
        self.branch3x3dbl_1, self.branch3x3dbl_2 = Basic(cin, 64), Basic(64, 96, 3, p=1)
        self.branch3x3dbl_3 = Basic(96, 96, 3, p=1)
        self.branch_pool = Basic(cin, pf)

    def forward(self, x):
        return torch.cat([self.branch1x1(x), self.branch5x5_2(self.branch5x5_1(x)),
                          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          self.branch_pool(avg(x))], 1)


class B(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3 = Basic(cin, 384, 3, 2)
        self.branch3x3dbl_1, self.branch3x3dbl_2 = Basic(cin, 64), Basic(64, 96, 3, p=1)
        self.branch3x3dbl_3 = Basic(96, 96, 3, 2)

    def forward(self, x):
        return torch.cat([self.branch3x3(x), self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          F.max_pool2d(x, 3, 2)], 1)


class C(nn.Module):
    def __init__(self, cin, c7):
        super().__init__()
        self.branch1x1 = Basic(cin, 192)
        self.branch7x7_1, self.branch7x7_2 = Basic(cin, c7), Basic(c7, c7, (1, 7), p=(0, 3))
        self.branch7x7_3 = Basic(c7, 192, (7, 1), p=(3, 0))
        self.branch7x7dbl_1 = Basic(cin, c7)
        self.branch7x7dbl_2, self.branch7x7dbl_3 = Basic(c7, c7, (7, 1), p=(3, 0)), Basic(c7, c7, (1, 7), p=(0, 3))
        self.branch7x7dbl_4, self.branch7x7dbl_5 = Basic(c7, c7, (7, 1), p=(3, 0)), Basic(c7, 192, (1, 7), p=(0, 3))
        self.branch_pool = Basic(cin, 192)

    def forward(self, x):
        d = x
        for i in range(1, 6):
            d = getattr(self, f"branch7x7dbl_{i}")(d)
        return torch.cat([self.branch1x1(x), self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))), d,
                          self.branch_pool(avg(x))], 1)


class D(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3_1, self.branch3x3_2 = Basic(cin, 192), Basic(192, 320, 3, 2)
        self.branch7x7x3_1, self.branch7x7x3_2 = Basic(cin, 192), Basic(192, 192, (1, 7), p=(0, 3))
        self.branch7x7x3_3, self.branch7x7x3_4 = Basic(192, 192, (7, 1), p=(3, 0)), Basic(192, 192, 3, 2)

    def forward(self, x):
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7, F.max_pool2d(x, 3, 2)], 1)


class E(nn.Module):
    def __init__(self, cin, pool):
        super().__init__()
        self.pool = pool
        self.branch1x1 = Basic(cin, 320)
        self.branch3x3_1 = Basic(cin, 384)
        self.branch3x3_2a, self.branch3x3_2b = Basic(384, 384, (1, 3), p=(0, 1)), Basic(384, 384, (3, 1), p=(1, 0))
        self.branch3x3dbl_1, self.branch3x3dbl_2 = Basic(cin, 448), Basic(448, 384, 3, p=1)
        self.branch3x3dbl_3a = Basic(384, 384, (1, 3), p=(0, 1))
        self.branch3x3dbl_3b = Basic(384, 384, (3, 1), p=(1, 0))
        self.branch_pool = Basic(cin, 192)

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = avg(x) if self.pool == "avg" else F.max_pool2d(x, 3, 1, 1)
        return torch.cat([self.branch1x1(x), self.branch3x3_2a(b3), self.branch3x3_2b(b3),
                          self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd), self.branch_pool(pooled)], 1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3, self.Conv2d_2a_3x3 = Basic(3, 32, 3, 2), Basic(32, 32, 3)
        self.Conv2d_2b_3x3, self.Conv2d_3b_1x1 = Basic(32, 64, 3, p=1), Basic(64, 80)
        self.Conv2d_4a_3x3 = Basic(80, 192, 3)
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = A(192, 32), A(256, 64), A(288, 64)
        self.Mixed_6a = B(288)
        self.Mixed_6b, self.Mixed_6c, self.Mixed_6d, self.Mixed_6e = C(768, 128), C(768, 160), C(768, 160), C(768, 192)
        self.Mixed_7a, self.Mixed_7b, self.Mixed_7c = D(768), E(1280, "avg"), E(2048, "max")
        self.fc = nn.Linear(2048, 1008)

    def forward(self, x):
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = F.max_pool2d(self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x))), 3, 2)
        x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), 3, 2)
        for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
                     "Mixed_7a", "Mixed_7b", "Mixed_7c"):
            x = getattr(self, name)(x)
        return x.mean(dim=(2, 3))


def test_fid_inception_matches_torch(tmp_path):
    torch.manual_seed(0)
    net = Net()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.0)
            m.bias.data.uniform_(-0.1, 0.1)
        elif isinstance(m, nn.Conv2d):
            m.weight.data.mul_(1.5)
    net.eval()
    torch.save(net.state_dict(), tmp_path / "pt_inception.pth")
    variables = load_inception_variables(tmp_path / "pt_inception.pth")
    x = np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)
    with torch.no_grad():
        want = net(torch.tensor(x).permute(0, 3, 1, 2)).numpy()
    got = np.asarray(jax.jit(FIDInceptionV3().apply)(variables, x))  # one compile: cheaper than eager op-by-op
    assert got.shape == (1, 2048)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
