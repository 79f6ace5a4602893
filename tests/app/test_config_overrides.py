"""Config files and ml_collections overrides (`--config.a.b=value`) as the commands load them."""
import os
import subprocess
import sys

import pytest

from inversion3d.app import cli, loading

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(loading.CONFIG_DIR, "demo.py")


def test_nested_override():
    config = loading.load_config(DEMO, ["--config.init_kwargs.rendering_kwargs.depth_resolution=8",
                                        "--config.yaws_deg=(-30.0, 30.0)"])
    assert config.init_kwargs.rendering_kwargs.depth_resolution == 8 and config.yaws_deg == (-30.0, 30.0)
    pti = loading.load_config(os.path.join(loading.CONFIG_DIR, "pti.py"), ["--config.tune.lr=1e-4"])
    assert pti.tune.lr == 1e-4 and pti.pivot.num_steps == 500  # pti.py builds on `from configs import wplus`


@pytest.mark.parametrize("override,needle", [
    ("--config.seed=abc", "--config.seed=abc"),  # wrong type: int expected
    ("--config.init_kwargs.nope=3", "config has no key 'init_kwargs.nope'"),
])
def test_user_errors_are_one_line_value_errors(override, needle):
    with pytest.raises(ValueError) as err:
        loading.load_config(DEMO, [override])
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_missing_file_and_cli_error_line(tmp_path, capsys):
    with pytest.raises(ValueError, match="--config: no such file"):
        loading.load_config(str(tmp_path / "nope.py"))
    assert cli.main(["demo", "--config", DEMO, "--out", str(tmp_path), "--config.seed=abc"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("inversion3d: error: ") and "--config.seed" in err[0]


def test_config_by_path_from_another_directory(tmp_path):
    """Config files import `configs` (a package) while ml_collections loads them by path."""
    path = os.path.join(REPO, "configs", "toy_psp.py")
    code = ("from inversion3d.app import loading; "
            f"c = loading.load_config({path!r}, ['--config.generator.ray_chunk=64']); "
            "print(c.generator.init_kwargs.rendering_kwargs.depth_resolution, c.generator.ray_chunk)")
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["8", "64"]


def test_invert_and_demo_route_overrides(tmp_path, capsys):
    """invert: --config.KEY is the wplus / pti config (checked before any model is loaded)."""
    base = ["invert", str(tmp_path / "a.png"), "--generator", "default", "--camera", "frontal", "--out", str(tmp_path)]
    cases = [(base + ["--method", "pti", "--config.tune.nope=1"], "config has no key 'tune.nope'"),
             (base + ["--method", "psp", "--encoder", "x.pt", "--config.tune.lr=1e-4"],
              "--config.tune.lr: only used by --method wplus|pti"),
             (["demo", "--out", str(tmp_path), "--generator.seed=1"], "`demo` takes no --generator.KEY overrides")]
    for argv, needle in cases:
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], err
