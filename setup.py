"""inversion3d: 3D-aware GAN inversion (EG3D, PanoHead, GOAE, ...) in JAX/Flax."""
import os

from setuptools import find_packages, setup


def asset_files():
    """Every file under inversion3d/assets/ except Python sources (the packaged generator's Orbax arrays
    and JSON have no fixed names, so they are listed, not globbed), relative to the package."""
    found = []
    for root, _, names in os.walk(os.path.join("inversion3d", "assets")):
        found += [os.path.relpath(os.path.join(root, n), "inversion3d") for n in names if not n.endswith((".py", ".pyc"))]
    return found


setup(
    name="inversion3d",
    version="0.1.0",
    description="Single-photo and video inversion into EG3D / PanoHead with JAX and Flax.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["inversion3d", "inversion3d.*", "converters", "converters.*", "configs"]),
    package_data={"inversion3d": asset_files()},  # the embedded default generator (inversion3d/assets)
    include_package_data=True,  # with MANIFEST.in: the sdist carries the assets too
    install_requires=[
        "jax>=0.10.2",
        "flax>=0.12.8",
        "optax>=0.2.8",
        "orbax-checkpoint>=0.12.8",
        "chex>=0.1.92",
        "ml-collections>=1.1.0",
        "tensorflow-datasets>=4.9.10",
        "array-record>=0.8.6",  # tfds array_record files without TensorFlow
        "importlib_resources",  # imported by tfds builders, not declared by tfds
        "grain>=0.2.18",  # TF-free input pipelines over tfds data sources
        "tensorboardX>=2.6",  # TensorBoard event files without TensorFlow (numpy + protobuf)
        "clu>=0.0.12",
        "numpy>=2.0",
        "pillow>=10.0",
        "scikit-image>=0.22",  # marching cubes for shape export
        "imageio>=2.31",  # orbit videos (mp4 via imageio-ffmpeg's bundled binary, gif)
        "imageio-ffmpeg>=0.5",
        "mrcfile>=1.5",  # density volumes like the official gen_samples
        "tqdm>=4.66",  # progress bars
        # facenet-pytorch==2.6.0 (MTCNN weights for `inversion3d preprocess`) must be installed WITHOUT
        # its dependencies, which install_requires cannot say: the Makefile's install step runs
        # `pip install --no-deps facenet-pytorch==2.6.0`. Only its data/*.pt files are read (safely).
    ],
    extras_require={
        # torch only writes reference .pth files in tests/converters (never needed to convert);
        # pinned to the CPU build available offline, never torchvision. hypothesis: tests/fuzz.
        "test": ["pytest>=8.0", "pytest-xdist>=3.5", "hypothesis>=6.100", "torch==2.13.0"],
        # viewing training logs (`tensorboard --logdir WORKDIR`); training never imports it
        "tensorboard": ["tensorboard>=2.21"],
    },
    entry_points={"console_scripts": ["inversion3d=inversion3d.app.cli:main"]},
)
