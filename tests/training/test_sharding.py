"""The toy step on 8 fake CPU devices (jit / FSDP / shard_map with sync BatchNorm) equals the
single-device step; checkpoints restore across mesh shapes. One subprocess (XLA_FLAGS must be
set before JAX starts; the main pytest process keeps its single device)."""

import pytest

from tests.training.helpers import run_worker

TOL = 1e-6  # relative (all params as one vector) after 3 steps
LEAF_TOL = 1e-5  # per leaf: small leaves (BN biases ~5e-3) carry Adam-normalised rounding noise


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    res = run_worker("training/multidevice_worker.py", tmp_path_factory.mktemp("multidevice"), timeout=600)
    print("multidevice results:", res)
    return res


def test_eight_devices(results):
    assert results["device_count"] == 8


@pytest.mark.parametrize("name", ["jit8", "fsdp8", "shard_map8"])
def test_step_on_8_devices_equals_single_device(results, name):
    assert results[name] <= TOL, results
    assert results[name + "_max_leaf"] <= LEAF_TOL, results


def test_fsdp_shards_params(results):
    assert results["fsdp8_sharded_leaves"] > 0
    assert results["jit8_sharded_leaves"] == 0


def test_save_on_8_restore_on_1(results):
    assert results["restore_8_to_1_source"] == "workdir"
    assert results["restore_8_to_1"] == 0.0
    assert results["restore_8_to_1_devices"] == 1


def test_save_on_1_restore_on_8(results):
    assert results["restore_1_to_8"] == 0.0
    assert results["restore_1_to_8_sharded_leaves"] > 0


def test_resume_on_other_mesh_continues(results):
    assert results["resume_8_to_1_vs_full"] <= TOL
