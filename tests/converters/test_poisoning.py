"""The whitelist is shared by every load in a process: a file that BUILDs state into a whitelisted
global, marker or class is refused with one line, and later legitimate files still load (issue 20 A3)."""
import collections

import numpy as np
import pytest

from converters.safe_pickle import CheckpointError
from converters.torch_format import read_checkpoint_object
from tests.converters import pickle_writer as pw

STUB = pw.Global("training.networks_stylegan2", "MappingNetwork")
TARGETS = {  # id -> (the object BUILD is applied to, what the error names)
    "tensor_marker": (pw.Global("torch", "Tensor"), "whitelisted global torch.Tensor"),
    "parameter_marker": (pw.Global("torch.nn.parameter", "Parameter"), "whitelisted global torch.nn.parameter"),
    "rebuild_function": (pw.REBUILD_TENSOR, "whitelisted global torch._utils._rebuild_tensor_v2"),
    "dtype_factory": (pw.Global("numpy", "dtype"), "whitelisted global numpy.dtype"),
    "ordered_dict_class": (pw.ORDERED_DICT, "class StateDictRecord"),
    "easydict_class": (pw.Global("dnnlib.util", "EasyDict"), "class EasyDict"),
    "stub_class": (STUB, "class training.networks_stylegan2.MappingNetwork"),
    "storage_tag": (pw.Global("torch", "FloatStorage"), "torch.FloatStorage"),
}
STATES = {  # slot state (setattr) and __dict__ state
    "class": (None, {"__class__": STUB}),
    "dict": {"name": "x", "func": None, "__defaults__": (1, 2)},
}


def _torch2_tensor(values):
    """A torch >= 2 style `.pth`: the tensor rebuilt through _rebuild_from_type_v2(..., torch.Tensor, ...)."""
    pid = pw.PersistentId(("storage", pw.storage_tag(values.dtype), "0", "cpu", values.size))
    args = (pid, 0, values.shape, pw.c_strides(values.shape), False, collections.OrderedDict())
    return collections.OrderedDict(w=pw.Reduce(pw.Global("torch._tensor", "_rebuild_from_type_v2"),
                                               (pw.REBUILD_TENSOR, pw.Global("torch", "Tensor"), args,
                                                collections.OrderedDict())))


@pytest.mark.parametrize("state", list(STATES.values()), ids=list(STATES))
@pytest.mark.parametrize("target,needle", list(TARGETS.values()), ids=list(TARGETS))
def test_build_on_shared_objects_is_refused(target, needle, state, tmp_path):
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    poison = pw.dumps({"x": pw.Build(target, state), "w": _torch2_tensor(values)["w"]}, 2)
    path = pw.write_zip_pth(tmp_path / "poison.pth", {"w": values}, data_pkl=poison)
    with pytest.raises(CheckpointError) as err:
        read_checkpoint_object(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message and needle in message, message
    assert "BUILD applied to" in message, message

    legit = pw.write_zip_pth(tmp_path / "legit.pth", {"w": values}, data_pkl=pw.dumps(_torch2_tensor(values), 2))
    np.testing.assert_array_equal(read_checkpoint_object(legit)["w"], values)


def test_state_dict_metadata_still_built(tmp_path):
    """BUILD on a fresh OrderedDict instance (torch state_dict `_metadata`) stays allowed."""
    tree = pw.Build(pw.Reduce(pw.ORDERED_DICT, ()), {"_metadata": {"": {"version": 1}}})
    path = pw.write_zip_pth(tmp_path / "meta.pth", {}, data_pkl=pw.dumps(tree, 2))
    assert read_checkpoint_object(path) == {}
