"""Imports point down (style.md): encoders and discriminators never import each other, losses and
metrics never import encoders; all of them take their layers from inversion3d/nn. Every import
statement counts, including lazy ones inside functions."""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "inversion3d"

# room -> rooms it must not import
FORBIDDEN = {
    "encoders": ("discriminators", "losses", "metrics"),
    "discriminators": ("encoders", "losses", "metrics"),
    "losses": ("encoders", "discriminators"),
    "metrics": ("encoders", "discriminators"),
    "nn": ("encoders", "discriminators", "losses", "metrics", "networks"),
}


def _imported_modules(path):
    """Absolute module names imported anywhere in the file at `path`."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_room_imports_point_down(room):
    bad = []
    for path in sorted((PACKAGE / room).rglob("*.py")):
        for name in _imported_modules(path):
            parts = name.split(".")
            if parts[0] == "inversion3d" and len(parts) > 1 and parts[1] in FORBIDDEN[room]:
                bad.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert not bad, "\n".join(bad)
