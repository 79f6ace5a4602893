"""The attribute classifier (inversion3d/nn/resnet.py + metrics/attributes.py) against the same
torchvision-style ResNet built here from torch.nn only (random weights and BatchNorm statistics),
saved with torch.save and converted by `converters.convert.convert(kind='classifier')` through the
safe reader. Tiny widths and 32 px inputs (the classifier's input size, so no resize is involved)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from converters.convert import convert  # noqa: E402
from inversion3d.metrics.attributes import load_classifier  # noqa: E402
from tests.tolerances import assert_close_f32  # noqa: E402

MEAN, STD = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]


class Block(nn.Module):
    """torchvision BasicBlock / Bottleneck (v1.5: the stride in the 3x3 conv)."""

    def __init__(self, cin, planes, stride, bottleneck):
        super().__init__()
        self.bottleneck = bottleneck
        out = planes * (4 if bottleneck else 1)
        if bottleneck:
            self.conv1, self.bn1 = nn.Conv2d(cin, planes, 1, bias=False), nn.BatchNorm2d(planes)
            self.conv2, self.bn2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes)
            self.conv3, self.bn3 = nn.Conv2d(planes, out, 1, bias=False), nn.BatchNorm2d(out)
        else:
            self.conv1, self.bn1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes)
            self.conv2, self.bn2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False), nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != out:
            self.downsample = nn.Sequential(nn.Conv2d(cin, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.bottleneck:
            y = self.bn3(self.conv3(F.relu(y)))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    def __init__(self, layers, widths, bottleneck, stem, outputs):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, stem, 7, 2, 3, bias=False), nn.BatchNorm2d(stem)
        cin = stem
        for s, (n, w) in enumerate(zip(layers, widths)):
            blocks = []
            for i in range(n):
                blocks.append(Block(cin, w, 2 if (s > 0 and i == 0) else 1, bottleneck))
                cin = w * (4 if bottleneck else 1)
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(cin, outputs)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        for s in range(1, 5):
            x = getattr(self, f"layer{s}")(x)
        return self.fc(x.mean(dim=(2, 3)))


def _randomised(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=g))
            elif name.endswith(("running_mean", "bn1.bias", "bn2.bias", "bn3.bias", "1.bias")):
                t.copy_(0.2 * torch.randn(t.shape, generator=g))
            elif t.dtype.is_floating_point and name.endswith("weight") and t.ndim == 1:
                t.copy_(0.5 + torch.rand(t.shape, generator=g))
    return model.eval()


@pytest.mark.parametrize("bottleneck,layers,widths,stem", [(False, (2, 1, 1, 1), (4, 8, 8, 16), 4),
                                                           (True, (1, 2, 1, 1), (4, 4, 8, 8), 8)])
def test_converted_classifier_matches_torch(tmp_path, bottleneck, layers, widths, stem):
    torch.manual_seed(0)
    model = _randomised(ResNet(layers, widths, bottleneck, stem, 3), 1)
    src = tmp_path / "cls.pth"
    torch.save({"state_dict": model.state_dict(), "input_size": 32, "mean": MEAN, "std": STD}, src)
    summary = convert(src, tmp_path / "cls", kind="classifier", classifier={"attributes": ["smile", "young", "hat"]})
    assert summary["networks"]["classifier"]["block"] == ("bottleneck" if bottleneck else "basic")
    clf = load_classifier(tmp_path / "cls")
    images = np.random.RandomState(2).uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    x = (torch.from_numpy(images).permute(0, 3, 1, 2) + 1) / 2
    x = (x - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
    with torch.no_grad():
        want = model(x).numpy()
    got = clf.logits(images)
    assert_close_f32(got, want, n_reduce=7 * 7 * 3 * 4, scale=np.abs(want).max() + 1)
    np.testing.assert_array_equal(clf.scores(images, "young"), got[:, 1])
    np.testing.assert_array_equal(clf.scores(images, 2), got[:, 2])
    with pytest.raises(ValueError, match="--attribute: 'old' is none"):
        clf.scores(images, "old")


def test_convert_names_what_a_state_dict_lacks(tmp_path):
    model = ResNet((1, 1, 1, 1), (4, 4, 4, 4), False, 4, 2)
    src = tmp_path / "bare.pth"
    torch.save(model.state_dict(), src)
    with pytest.raises(ValueError, match="input_size, mean, std are not in the file; pass --input-size --mean --std"):
        convert(src, tmp_path / "out", kind="classifier")
    with pytest.raises(ValueError, match="3 attribute names .* for 2 logits"):
        convert(src, tmp_path / "out", kind="classifier",
                classifier={"input_size": 32, "mean": MEAN, "std": STD, "attributes": ["a", "b", "c"]})
    summary = convert(src, tmp_path / "out", kind="classifier", classifier={"input_size": 32, "mean": MEAN, "std": STD})
    assert summary["attributes"] == ["0", "1"] and summary["preprocess"]["input_size"] == 32
    with pytest.raises(ValueError, match="not a converted checkpoint directory"):
        load_classifier(src)


def test_convert_command_flags(tmp_path, capsys):
    from inversion3d.app import cli

    src = tmp_path / "bare.pth"
    torch.save(ResNet((1, 1, 1, 1), (4, 4, 4, 4), False, 4, 2).state_dict(), src)
    base = ["convert", str(src), str(tmp_path / "c"), "--kind", "classifier", "--input-size", "48"]
    assert cli.main(base + ["--mean", "0.5,x,0.3", "--std", "0.2,0.2,0.2"]) == 2
    assert "--mean: expected comma-separated numbers" in capsys.readouterr().err
    assert cli.main(base + ["--mean", "0.5,0.4,0.3", "--std", "0.2,0.2,0.2", "--attributes", "smile, hat"]) == 0
    clf = load_classifier(tmp_path / "c")
    assert clf.attributes == ("smile", "hat") and clf.input_size == 48 and clf.mean == (0.5, 0.4, 0.3)
    assert cli.main(["convert", str(src), str(tmp_path / "d"), "--kind", "arcface", "--input-size", "48"]) == 2
    assert "--input-size / --mean / --std / --attributes: only for --kind classifier" in capsys.readouterr().err
