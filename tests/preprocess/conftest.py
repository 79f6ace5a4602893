"""Shared fixtures: MTCNN weights from the installed facenet-pytorch wheel, real photos shipped in
scikit-image (the astronaut Eileen Collins, the cameraman, coffee), detections computed once."""
import numpy as np
import pytest
from skimage import data

from inversion3d.preprocess.mtcnn import detect_faces
from inversion3d.preprocess.weights import load_mtcnn_params


@pytest.fixture(scope="session")
def mtcnn_params():
    try:
        return load_mtcnn_params()
    except ValueError as err:
        pytest.fail(f"{err} (`make test` installs it)")


@pytest.fixture(scope="session")
def astronaut():
    return data.astronaut()


@pytest.fixture(scope="session")
def cameraman():
    return np.repeat(data.camera()[..., None], 3, axis=-1)


@pytest.fixture(scope="session")
def detections(mtcnn_params, astronaut, cameraman):
    """Faces of the astronaut, the cameraman and their horizontally flipped copies."""
    images = {"astronaut": astronaut, "cameraman": cameraman}
    images.update({f"{k}_flip": np.ascontiguousarray(v[:, ::-1]) for k, v in list(images.items())})
    return {k: (v, detect_faces(mtcnn_params, v)) for k, v in images.items()}
