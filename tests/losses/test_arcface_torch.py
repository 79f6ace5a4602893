"""ArcFace IR-SE-50 end to end against the same network built in PyTorch in the test (random weights,
narrow widths to stay fast): torch.save -> `inversion3d convert --kind arcface` -> load_encoder -> embeddings."""
import jax
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from inversion3d import load_encoder  # noqa: E402
from inversion3d.app import cli  # noqa: E402

WIDTHS = (16, 16, 32, 32)  # SE hidden = width // 16 >= 1
UNITS = (3, 4, 14, 3)  # IR-SE-50


class SE(nn.Module):
    def __init__(self, c, reduction=16):
        super().__init__()
        self.fc1 = nn.Conv2d(c, c // reduction, 1, bias=False)
        self.fc2 = nn.Conv2d(c // reduction, c, 1, bias=False)

    def forward(self, x):
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3), keepdim=True)))))
        return x * s


class Unit(nn.Module):
    def __init__(self, cin, depth, stride):
        super().__init__()
        self.shortcut_layer = (nn.MaxPool2d(1, stride) if cin == depth else
                               nn.Sequential(nn.Conv2d(cin, depth, 1, stride, bias=False), nn.BatchNorm2d(depth)))
        self.res_layer = nn.Sequential(nn.BatchNorm2d(cin), nn.Conv2d(cin, depth, 3, 1, 1, bias=False),
                                       nn.PReLU(depth), nn.Conv2d(depth, depth, 3, stride, 1, bias=False),
                                       nn.BatchNorm2d(depth), SE(depth))

    def forward(self, x):
        return self.res_layer(x) + self.shortcut_layer(x)


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_layer = nn.Sequential(nn.Conv2d(3, WIDTHS[0], 3, 1, 1, bias=False), nn.BatchNorm2d(WIDTHS[0]),
                                         nn.PReLU(WIDTHS[0]))
        units, cin = [], WIDTHS[0]
        for depth, n in zip(WIDTHS, UNITS):
            for i in range(n):
                units.append(Unit(cin, depth, 2 if i == 0 else 1))
                cin = depth
        self.body = nn.Sequential(*units)
        self.output_layer = nn.Sequential(nn.BatchNorm2d(cin), nn.Dropout(0.6), nn.Flatten(),
                                          nn.Linear(cin * 7 * 7, 24), nn.BatchNorm1d(24))

    def forward(self, x):
        y = self.output_layer(self.body(self.input_layer(x)))
        return y / y.norm(dim=1, keepdim=True)


def test_arcface_matches_torch(tmp_path):
    torch.manual_seed(0)
    net = Backbone()
    for m in net.modules():  # non-trivial BatchNorm statistics and PReLU slopes
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
        elif isinstance(m, nn.PReLU):
            m.weight.data.uniform_(0.1, 0.4)
    net.eval()
    torch.save(net.state_dict(), tmp_path / "model_ir_se50.pth")
    assert cli.main(["convert", str(tmp_path / "model_ir_se50.pth"), str(tmp_path / "arc"), "--kind", "arcface"]) == 0
    enc = load_encoder(tmp_path / "arc")
    x = np.random.default_rng(0).uniform(-1, 1, (2, 112, 112, 3)).astype(np.float32)
    with torch.no_grad():
        want = net(torch.tensor(x).permute(0, 3, 1, 2)).numpy()
    got = np.asarray(jax.jit(enc.modules["arcface"].apply)(enc.variables["arcface"], x))  # one compile, not eager
    np.testing.assert_allclose(got, want, atol=2e-5)
