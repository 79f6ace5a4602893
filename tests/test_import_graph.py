"""The package's import structure (style.md, issue 21): rooms import downward only.

Parses every module of `inversion3d/` with `ast` (no import is executed), including imports inside
functions and relative imports, and checks:
- no cycle among the command modules of `inversion3d/app/`;
- the room table FORBIDDEN: encoders and discriminators never import each other, losses and metrics
  never import encoders (or discriminators), `nn/` imports no network family;
- nothing outside `app/` and `methods/` imports `methods/` (the loop gets a method as a value);
- no library module (outside `app/`) imports `inversion3d.app` or the top-level `configs` package.
The checker itself runs on synthetic trees so that each rule is known to be able to fail.
"""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def module_name(path: pathlib.Path, root: pathlib.Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: pathlib.Path, name: str) -> set:
    """Absolute names of every module `path` imports (relative imports resolved against `name`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module
            found.add(prefix)
            # `from pkg import submodule` imports the submodule too.
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
    return found


def import_graph(root: pathlib.Path, package: str = "inversion3d") -> dict:
    """{module: set of package-internal modules it imports} for every .py below root/package."""
    modules = {module_name(p, root): p for p in (root / package).rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        graph[name] = {m for m in imports_of(path, name) if m in modules and m != name}
    external = {}
    for name, path in modules.items():
        external[name] = {m for m in imports_of(path, name) if m.split(".")[0] == "configs"}
    return graph, external


def find_cycle(graph: dict, nodes: set):
    """A list of modules forming a cycle within `nodes`, or None."""
    state = {}

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in nodes:
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt, stack)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(nodes):
        if node not in state:
            cycle = visit(node, [])
            if cycle:
                return cycle
    return None


def in_room(module: str, room: str) -> bool:
    return module == room or module.startswith(room + ".")


# room -> rooms it must not import
FORBIDDEN = {
    "encoders": ("discriminators", "losses", "metrics", "methods"),
    "discriminators": ("encoders", "losses", "metrics", "methods"),
    "losses": ("encoders", "discriminators"),
    "metrics": ("encoders", "discriminators"),
    "nn": ("encoders", "discriminators", "losses", "metrics", "networks"),
}
METHOD_USERS = ("app", "methods")  # the only rooms that may import methods/ (and `__main__`, the command)


def violations(graph: dict, external: dict, package: str = "inversion3d") -> list:
    """Human-readable rule violations of the import graph."""
    p = package
    found = []
    app = {m for m in graph if in_room(m, f"{p}.app")}
    cycle = find_cycle(graph, app)
    if cycle:
        found.append("cycle among command modules: " + " -> ".join(cycle))
    forbidden = [(f"{p}.{src}", f"{p}.{dst}") for src, dsts in FORBIDDEN.items() for dst in dsts]
    for module, targets in sorted(graph.items()):
        for src, dst in forbidden:
            found.extend(f"{module} imports {t} ({src} -> {dst})" for t in sorted(targets)
                         if in_room(module, src) and in_room(t, dst))
        if not any(in_room(module, f"{p}.{room}") for room in METHOD_USERS):
            found.extend(f"{module} imports {t} (only the command layer uses methods/)" for t in sorted(targets)
                         if in_room(t, f"{p}.methods"))
        if not (in_room(module, f"{p}.app") or module == f"{p}.__main__"):  # `python -m` runs the command
            found.extend(f"library module {module} imports the command layer {t}" for t in sorted(targets)
                         if in_room(t, f"{p}.app"))
            found.extend(f"library module {module} imports {t}" for t in sorted(external.get(module, ())))
    return found


def test_package_import_graph_follows_the_rules():
    graph, external = import_graph(ROOT)
    assert "inversion3d.app.cli" in graph, "expected the command layer in inversion3d/app/"
    problems = violations(graph, external)
    assert not problems, "\n".join(problems)


def _write(root, rel, text=""):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize("files, expected", [
    ({"pkg/app/a.py": "from pkg.app import b\n", "pkg/app/b.py": "def f():\n    from pkg.app.a import x\n"},
     "cycle among command modules"),
    ({"pkg/encoders/e.py": "from pkg.discriminators import d\n", "pkg/discriminators/d.py": ""},
     "(pkg.encoders -> pkg.discriminators)"),
    ({"pkg/discriminators/d.py": "from ..encoders.e import Net\n", "pkg/encoders/e.py": ""},
     "(pkg.discriminators -> pkg.encoders)"),
    ({"pkg/losses/l.py": "import pkg.encoders.e\n", "pkg/encoders/e.py": ""}, "(pkg.losses -> pkg.encoders)"),
    ({"pkg/metrics/m.py": "def f():\n    from pkg.encoders import e\n", "pkg/encoders/e.py": ""},
     "(pkg.metrics -> pkg.encoders)"),
    ({"pkg/training/t.py": "from pkg.app import loading\n", "pkg/app/loading.py": ""}, "imports the command layer"),
    ({"pkg/training/t.py": "from configs import demo\n"}, "imports configs"),
    ({"pkg/training/t.py": "from pkg.methods.goae import train\n", "pkg/methods/goae/train.py": ""},
     "only the command layer uses methods/"),
    ({"pkg/nn/layers.py": "from pkg import networks\n", "pkg/networks.py": ""}, "(pkg.nn -> pkg.networks)"),
    ({"pkg/losses/l.py": "from pkg.discriminators.d import D\n", "pkg/discriminators/d.py": ""},
     "(pkg.losses -> pkg.discriminators)"),
])
def test_checker_catches_each_rule(tmp_path, files, expected):
    for rel, text in files.items():
        _write(tmp_path, rel, text)
    _write(tmp_path, "pkg/__init__.py")
    graph, external = import_graph(tmp_path, "pkg")
    problems = violations(graph, external, "pkg")
    assert any(expected in p for p in problems), problems


def test_checker_accepts_a_clean_tree(tmp_path):
    files = {"pkg/__init__.py": "", "pkg/app/cli.py": "from pkg.app import render\n",
             "pkg/app/render.py": "from pkg.nn import layers\n", "pkg/nn/layers.py": "",
             "pkg/encoders/e.py": "from pkg.nn.layers import Conv2d\n",
             "pkg/losses/l.py": "from ..nn import layers\n"}
    for rel, text in files.items():
        _write(tmp_path, rel, text)
    graph, external = import_graph(tmp_path, "pkg")
    assert violations(graph, external, "pkg") == []
