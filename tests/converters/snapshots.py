"""Synthetic EG3D / PanoHead network snapshots (`*.pkl`) built from flat state_dicts (checkpoints.md §1-§3).

The module tree, class names and persistent/by-reference split follow checkpoints.md §2; tensors
are embedded as in §3. Every embedded `module_src` is a payload that would create `sentinel` if it
were ever executed, so every test that converts one of these also checks that no source ran.
"""
import collections
import re

import numpy as np

from tests.converters.pickle_writer import RECONSTRUCT, EasyDictValue, Global, NewObj, Reduce, dumps, embedded_tensor

BUFFERS = ("resample_filter", "noise_const", "w_avg")
_STYLEGAN = "training/networks_stylegan2.py"
_SR = "training/superresolution.py"


def _payload(sentinel, module_file):
    if sentinel is None:
        return f"# {module_file} (synthetic test source)\n"
    return (f"# {module_file} (synthetic test source)\nimport pathlib\n"
            f"pathlib.Path({str(sentinel)!r}).write_text('module_src was executed')\n")


def _class_of(path: str, kind: str, sr_module: str):
    """Dotted module path -> (persistent?, module file or qualified module, class name)."""
    last = path.rsplit(".", 1)[-1]
    pano = kind == "panohead"
    table = [
        (r"", (True, "training/triplane.py", "TriPlaneGenerator")),
        (r"backbone", (True, _STYLEGAN, "Generator")),
        (r"(backbone\.)?(t_)?mapping", (True, _STYLEGAN, "MappingNetwork")),
        (r"backbone\.synthesis|bcg_synthesis", (True, _STYLEGAN, "SynthesisNetwork")),
        (r"superresolution", (True, _SR, sr_module)),
        (r"superresolution\.block0", (True, _SR, "SynthesisBlockNoUp" if sr_module[-2:] in ("2X", "4X")
                                      else "SynthesisBlock")),
        (r"superresolution\.block1|.*\.b\d+", (True, _STYLEGAN, "SynthesisBlock")),
        (r".*conv[01]", (True, _STYLEGAN, "SynthesisLayer")),
        (r"(.*\.)?torgb", (True, _STYLEGAN, "ToRGBLayer")),
        (r"decoder", (True, "training/triplane.py", "OSGDecoder") if pano
         else (False, "training.triplane", "OSGDecoder")),
        (r"decoder\.net", (False, "torch.nn.modules.container", "Sequential")),
        (r"decoder\.net\.1", (False, "torch.nn.modules.activation", "Softplus")),
        (r".*\.(affine|fc\d+|embed)|decoder\.net\.[02]", (True, _STYLEGAN, "FullyConnectedLayer")),
        (r"renderer", (True, "training/volumetric_rendering/renderer.py", "ImportanceRenderer") if pano
         else (False, "training.volumetric_rendering.renderer", "ImportanceRenderer")),
        (r"renderer\.ray_marcher", (True, "training/volumetric_rendering/ray_marcher.py", "MipRayMarcher2") if pano
         else (False, "training.volumetric_rendering.ray_marcher", "MipRayMarcher2")),
        (r"ray_sampler", (False, "training.volumetric_rendering.ray_sampler", "RaySampler")),
    ]
    for pattern, result in table:
        if re.fullmatch(pattern, path):
            return result
    raise KeyError(f"no class for module {path!r} ({last})")


def _tree(state_dict, extra_children):
    root = {"tensors": collections.OrderedDict(), "children": collections.OrderedDict()}
    for key in list(state_dict) + [c + ".__module__" for c in extra_children]:
        *parents, leaf = key.split(".")
        node = root
        for part in parents:
            node = node["children"].setdefault(part, {"tensors": collections.OrderedDict(),
                                                      "children": collections.OrderedDict()})
        if leaf != "__module__":
            node["tensors"][leaf] = state_dict[key]
    return root


def _module_state(params, buffers, modules, attrs):
    od = collections.OrderedDict
    state = {"training": False, "_parameters": od(params), "_buffers": od(buffers),
             "_non_persistent_buffers_set": set(), "_backward_hooks": od(), "_forward_hooks": od(),
             "_forward_pre_hooks": od(), "_state_dict_hooks": od(), "_load_state_dict_pre_hooks": od(),
             "_modules": od(modules)}
    state.update(attrs)
    return state


def build_network(state_dict, kind="eg3d", sr_module="SuperresolutionHybrid2X", top_attrs=None,
                  sentinel=None, class_of=None, extra_children=None):
    """A persistent-module tree (Reduce objects) whose state_dict() is `state_dict`."""
    class_of = class_of or (lambda p: _class_of(p, kind, sr_module))
    extra_children = extra_children if extra_children is not None else \
        ["decoder.net.1", "renderer", "renderer.ray_marcher", "ray_sampler"]
    sources = {}  # one str object per module file: the pickler memoises it like the official writer

    def build(node, path):
        persistent, where, name = class_of(path)
        children = {k: build(v, f"{path}.{k}" if path else k) for k, v in node["children"].items()}
        if children and all(k.isdigit() for k in children):
            children = dict(sorted(children.items(), key=lambda kv: int(kv[0])))
        params = {k: embedded_tensor(v, param=True) for k, v in node["tensors"].items() if k not in BUFFERS}
        buffers = {k: embedded_tensor(v) for k, v in node["tensors"].items() if k in BUFFERS}
        attrs = {}
        if name == "FullyConnectedLayer":
            w = node["tensors"]["weight"]
            attrs = {"in_features": int(w.shape[1]), "out_features": int(w.shape[0]), "activation": "linear",
                     "weight_gain": np.float64(1 / np.sqrt(w.shape[1])), "bias_gain": 1.0}
        elif name == "SynthesisLayer":
            attrs = {"up": 1, "use_noise": True, "activation": "lrelu", "act_gain": np.float32(np.sqrt(2))}
        elif name == "ImportanceRenderer":
            attrs = {"plane_axes": embedded_tensor(np.eye(3, dtype=np.float32)[None].repeat(3, 0))}
        elif path == "":
            attrs = dict(top_attrs or {})
        state = _module_state(params, buffers, children, attrs)
        if not persistent:
            return NewObj(Global(where, name), state)
        src = sources.setdefault(where, _payload(sentinel, where))
        meta = {"type": "class", "version": 6, "module_src": src, "class_name": name, "state": state}
        return Reduce(RECONSTRUCT, (meta,))

    return build(_tree(state_dict, extra_children), "")


def generator_attrs(init_kwargs, neural_rendering_resolution):
    """The plain attributes of a TriPlaneGenerator (checkpoints.md §2), kwargs as dnnlib EasyDicts."""
    def easy(d):
        return EasyDictValue({k: easy(v) if isinstance(v, dict) else v for k, v in d.items()})

    return {"z_dim": init_kwargs["z_dim"], "c_dim": init_kwargs["c_dim"], "w_dim": init_kwargs["w_dim"],
            "img_resolution": init_kwargs["img_resolution"], "img_channels": init_kwargs["img_channels"],
            "neural_rendering_resolution": neural_rendering_resolution,
            "rendering_kwargs": dict(init_kwargs["rendering_kwargs"]), "_last_planes": None,
            "_init_args": (), "_init_kwargs": easy(init_kwargs)}


def discriminator_state_dict(seed=0):
    rng = np.random.RandomState(seed)
    return {"b32.fromrgb.weight": rng.randn(8, 6, 1, 1).astype(np.float32),
            "b32.fromrgb.bias": rng.randn(8).astype(np.float32),
            "b4.out.weight": rng.randn(1, 8).astype(np.float32), "b4.out.bias": np.zeros(1, np.float32)}


def write_snapshot(path, g_ema, init_kwargs, neural_rendering_resolution, kind="eg3d", g=None, d=None,
                   protocol=4, sentinel=None, networks=("G", "D", "G_ema")):
    """A network snapshot {training_set_kwargs, G, D, G_ema, augment_pipe} like training_loop.py writes."""
    sr_module = init_kwargs["rendering_kwargs"]["superresolution_module"].rsplit(".", 1)[-1]
    attrs = generator_attrs(init_kwargs, neural_rendering_resolution)
    gen = lambda sd: build_network(sd, kind, sr_module, attrs, sentinel)  # noqa: E731
    d_class = "MaskDualDiscriminatorV2" if kind == "panohead" else "DualDiscriminator"
    nets = {
        "G": gen(g if g is not None else g_ema),
        "D": build_network(d if d is not None else discriminator_state_dict(), sentinel=sentinel, extra_children=[],
                           class_of=lambda p: (True, "training/dual_discriminator.py",
                                               d_class if p == "" else "DiscriminatorBlock")),
        "G_ema": gen(g_ema),
    }
    snapshot = {"training_set_kwargs": {"class_name": "training.dataset.ImageFolderDataset", "path": "ffhq.zip",
                                        "use_labels": True, "max_size": 70000, "xflip": True,
                                        "resolution": init_kwargs["img_resolution"], "random_seed": 0}}
    snapshot.update({k: v for k, v in nets.items() if k in networks})
    snapshot["augment_pipe"] = None
    with open(path, "wb") as f:
        f.write(dumps(snapshot, protocol))
    return path
