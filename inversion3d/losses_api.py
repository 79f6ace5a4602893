"""Loading the loss networks' weights the user passes in (read without running code).

`load_lpips(path)`: PerceptualSimilarity's v0.1 heads (vgg.pth / alex.pth) beside the torchvision
trunk (vgg16*.pth / alexnet*.pth) in a folder, or one file holding both the trunk's `features.*`
and the heads -> {net: variables} (converters/lpips.py). Used by `invert --lpips` and by training
configs (`losses.lpips_weights`). ArcFace loads through `encoders_api.load_encoder(kind='arcface')`.
"""
import glob
import os

LPIPS_FILES = {"vgg": ("vgg.pth", "vgg16"), "alex": ("alex.pth", "alexnet")}  # net -> (heads, trunk prefix)


def load_lpips(path):
    """-> {'vgg' | 'alex': LPIPS variables}; one-line ValueError when `path` holds none (the
    messages name `--lpips`, the flag of `invert`; configs name the same path `losses.lpips_weights`)."""
    from converters.lpips import load_lpips_variables, lpips_state_dict

    if os.path.isdir(path):
        found = {}
        for net, (heads, trunk) in LPIPS_FILES.items():
            trunks = sorted(glob.glob(os.path.join(path, f"{trunk}*.pt*")))
            if os.path.isfile(os.path.join(path, heads)) and trunks:
                found[net] = load_lpips_variables(net, trunks[0], os.path.join(path, heads))
        if not found:
            raise ValueError(f"--lpips: {path} holds no LPIPS weights (expected vgg.pth + vgg16*.pth or alex.pth + "
                             f"alexnet*.pth)")
        return found
    if not os.path.isfile(path):
        raise ValueError(f"--lpips: no such file or directory: {path}")
    convs = sum(k.startswith("features.") and k.endswith(".weight") for k in lpips_state_dict(path, path))
    nets = {13: "vgg", 5: "alex"}
    if convs not in nets:
        raise ValueError(f"--lpips: {path} has {convs} trunk convolutions; expected VGG16 (13) or AlexNet (5)")
    return {nets[convs]: load_lpips_variables(nets[convs], path, path)}
