import json
import subprocess
import sys

import numpy as np
import pytest

import course_utils as cu


@pytest.mark.parametrize("raw,expected", [("1", True), ("true", True), ("YES", True), ("0", False),
                                          ("", False), ("off", False)])
def test_fast_mode_reads_env(monkeypatch, raw, expected):
    monkeypatch.setenv("COURSE_FAST", raw)
    assert cu.fast_mode() is expected


def test_fast_mode_unset_is_full(monkeypatch):
    monkeypatch.delenv("COURSE_FAST", raising=False)
    assert cu.fast_mode() is False


def test_fast_mode_rejects_garbage(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "maybe")
    with pytest.raises(ValueError, match="COURSE_FAST"):
        cu.fast_mode()


def test_import_does_not_import_tensorflow():
    code = "import sys, course_utils as cu; cu.setup(seed=1, tensorflow=False, quiet=True); " \
           "cu.data.toy('xor'); cu.checks.close('x', 1, 1, quiet=True); import course_utils.plots; " \
           "print(any(m == 'tensorflow' or m.startswith('tensorflow.') or m == 'keras' for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_setup_seeds_numpy_and_reports(capsys):
    r1 = cu.setup(seed=3, fast=True, tensorflow=False)
    a = np.random.rand(3)
    cu.setup(seed=3, fast=True, tensorflow=False, quiet=True)
    b = np.random.rand(3)
    np.testing.assert_array_equal(a, b)
    text = capsys.readouterr().out
    assert "FAST" in text and "NumPy" in text and "Colab" in text
    assert r1["fast"] is True and r1["colab"] is False and r1["seed"] == 3


def test_setup_with_tensorflow_reports_device_and_seeds_keras():
    r = cu.setup(seed=5, fast=False, quiet=True)
    assert r["device"].startswith(("CPU", "GPU")) and r["keras"]
    import keras
    x1 = keras.random.normal((3,), seed=None)
    cu.setup(seed=5, fast=False, quiet=True)
    x2 = keras.random.normal((3,), seed=None)
    np.testing.assert_allclose(np.asarray(x1), np.asarray(x2))


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_setup_rejects_bad_seed(bad):
    with pytest.raises(ValueError, match="seed"):
        cu.setup(seed=bad, tensorflow=False, quiet=True)


def test_setup_rejects_bad_fast():
    with pytest.raises(TypeError, match="fast"):
        cu.setup(seed=1, fast="yes", tensorflow=False, quiet=True)


def test_record_headline_writes_results_file(tmp_path, monkeypatch, capsys):
    f = tmp_path / "r.jsonl"
    monkeypatch.setenv("COURSE_RESULTS", str(f))
    assert cu.record_headline("accuracy", 0.98, target=0.97) is True
    assert cu.record_headline("error", 0.2, target=0.1, higher_is_better=False) is False
    assert cu.record_headline("time", 3.0) is None
    rows = [json.loads(line) for line in f.read_text().splitlines()]
    assert [r["name"] for r in rows] == ["accuracy", "error", "time"]
    assert rows[0]["reached"] is True and rows[1]["reached"] is False
    assert "NOT reached" in capsys.readouterr().out


def test_record_headline_validates():
    with pytest.raises(TypeError, match="value"):
        cu.record_headline("x", "high")
    with pytest.raises(ValueError, match="name"):
        cu.record_headline("", 1.0)


def test_quiet_tensorflow_start_drops_info_lines_and_keeps_the_rest(capfd):
    import os
    lines = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1796186954.466226   20906 port.cc:153] oneDNN custom operations are on. ...",
        "2026-12-02 04:47:35.854451: I tensorflow/core/platform/cpu_feature_guard.cc:210] This TensorFlow binary ...",
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate compiler flags.",
        "E0000 00:00:1758131045.203198 3722035 cuda_dnn.cc:8579] Unable to register cuDNN factory",
        "W0000 00:00:1758131045.228 a warning that matters",
    ]
    with cu.env.quiet_tensorflow_start():
        os.write(2, ("\n".join(lines) + "\n").encode())
    err = capfd.readouterr().err
    assert "oneDNN" not in err and "InitializeLog" not in err and "cpu_feature_guard" not in err
    assert "To enable" not in err
    assert "Unable to register cuDNN factory" in err and "a warning that matters" in err
    os.write(2, b"after the block, fd 2 is back\n")
    assert "fd 2 is back" in capfd.readouterr().err


def test_setup_prints_no_tensorflow_info_lines():
    """In a fresh interpreter: a plain TensorFlow import prints info lines, cu.setup does not."""
    def stderr_of(code):
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=300).stderr
    plain = stderr_of("import tensorflow, keras")
    if not any(cu.env._TF_INFO_LINE.match(line) for line in plain.splitlines()):
        pytest.skip("this TensorFlow prints no start-up info lines: nothing to filter")
    ours = stderr_of("import course_utils as cu; cu.setup(seed=1, quiet=True); import keras; "
                     "keras.random.normal((2,), seed=1)")
    assert not any(cu.env._TF_INFO_LINE.match(line) for line in ours.splitlines()), ours


# --------------------------------------------------------------------------- GPU policy (README, "GPUs")

class _FakeGPU:
    def __init__(self, name):
        self.name = name
        self.device_type = "GPU"


@pytest.fixture
def fake_gpu(monkeypatch):
    """TensorFlow's config functions replaced by recorders: an 'A100' (compute capability 8.0) is present."""
    import tensorflow as tf
    calls = {"tf32": [], "growth": [], "determinism": 0, "tf32_now": True}
    gpu = _FakeGPU("/physical_device:GPU:0")
    real_list = tf.config.list_physical_devices
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: [gpu] if kind == "GPU" else real_list(kind))
    monkeypatch.setattr(tf.config.experimental, "get_device_details",
                        lambda g: {"device_name": "NVIDIA A100-SXM4-40GB", "compute_capability": (8, 0)})

    def enable_tf32(flag):
        calls["tf32"].append(flag)
        calls["tf32_now"] = flag
    monkeypatch.setattr(tf.config.experimental, "enable_tensor_float_32_execution", enable_tf32)
    monkeypatch.setattr(tf.config.experimental, "tensor_float_32_execution_enabled", lambda: calls["tf32_now"])
    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", lambda g, on: calls["growth"].append((g, on)))
    monkeypatch.setattr(tf.config.experimental, "enable_op_determinism",
                        lambda: calls.__setitem__("determinism", calls["determinism"] + 1))
    monkeypatch.setattr(cu.env, "_nvidia_smi_memory", lambda: [40960])
    return calls


def test_gpu_policy_turns_tf32_off_and_reports_the_gpu(fake_gpu, capsys):
    r = cu.setup(seed=1, fast=True)
    assert fake_gpu["tf32"] == [False] and fake_gpu["determinism"] == 0
    assert len(fake_gpu["growth"]) == 1 and fake_gpu["growth"][0][1] is True
    assert r["device"] == "GPU (NVIDIA A100-SXM4-40GB)"
    assert r["gpus"] == [{"name": "NVIDIA A100-SXM4-40GB", "compute_capability": (8, 0), "memory_mib": 40960}]
    assert r["policy"] == {"tf32": False, "deterministic": False, "memory_growth": True}
    out = capsys.readouterr().out
    assert "compute capability 8.0, 40 GiB" in out and "TF32 off" in out
    assert "TensorFloat-32" in out          # the explanation, shown where TF32 would matter (8.0+)


def test_gpu_policy_fast_precision_and_determinism(fake_gpu, capsys):
    r = cu.setup(seed=1, fast=True, precision="fast", deterministic=True)
    assert fake_gpu["tf32"] == [True] and fake_gpu["determinism"] == 1
    assert r["policy"]["tf32"] is True and r["policy"]["deterministic"] is True
    out = capsys.readouterr().out
    assert "TF32 on" in out and "determinism on" in out and "TensorFloat-32" not in out


def test_gpu_policy_on_a_cpu_only_machine(capsys):
    r = cu.setup(seed=1, fast=True)
    assert r["gpus"] == [] and r["device"] == "CPU" and r["policy"]["tf32"] is False
    assert "matters on GPUs only" in capsys.readouterr().out


def test_numpy_only_setup_leaves_tensorflow_alone():
    r = cu.setup(seed=1, fast=True, tensorflow=False, quiet=True)
    assert r["policy"] is None and r["gpus"] == []


@pytest.mark.parametrize("kw, err", [({"precision": "tf32"}, ValueError), ({"deterministic": "yes"}, TypeError)])
def test_gpu_policy_rejects_bad_arguments(kw, err):
    with pytest.raises(err, match=next(iter(kw))):
        cu.env.apply_gpu_policy(**kw)
    if "precision" in kw:
        with pytest.raises(err, match="precision"):
            cu.setup(seed=1, quiet=True, **kw)


def test_one_blas_thread_limits_blas_inside_and_restores_it():
    import pytest
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from course_utils.env import one_blas_thread
    before = [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    with one_blas_thread():
        inside = [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
        a = np.ones((64, 64))
        assert np.allclose(a @ a, 64.0)
    after = [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    assert inside and all(n == 1 for n in inside)
    assert after == before
