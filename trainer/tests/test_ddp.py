"""Data-parallel training: N processes (gloo, CPU, built-in spawn launcher) take the same steps
as one process with the same global batch; gradient accumulation likewise; a killed run
resumes from its checkpoint to the same weights as an uninterrupted run."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import numpy as np
import pytest

from trainer.weights import load_model_dir

from .conftest import PYTHON, ROOT, run_pretrain, shipped_names, write_canonical

TINY = ["--size", "xs", "--batch", "16", "--warmup", "5", "--lr", "3e-3", "--objective", "dro", "--tau", "0.1",
        "--dro-radius", "0.05", "--dro-tail-mix", "0.02", "--threads", "1", "--no-test", "--fp32-out", "none"]


@pytest.fixture(scope="module")
def log(tmp_path_factory) -> str:
    return write_canonical(str(tmp_path_factory.mktemp("ddp") / "log.csv"), shipped_names()[:50], sequences=60, max_len=40, splits=True, seed=11)


def weights(folder: str):
    model, *_ = load_model_dir(folder)
    return model.values()


def fp32(folder: str):
    return os.path.join(folder, "fp32")


def train(log: str, out: str, extra) -> dict:
    run_pretrain(["--file", log, "--out", out, *TINY, "--dropout", "0", "--fp32-out", fp32(out), *extra])
    return weights(fp32(out))


def test_two_processes_and_accumulation_take_the_steps_of_one(log, tmp_path):
    args = ["--epochs", "2"]
    one = train(log, str(tmp_path / "one"), args)
    two = train(log, str(tmp_path / "two"), [*args, "--nproc", "2"])
    accumulated = train(log, str(tmp_path / "acc"), [*args, "--grad-accum", "3"])
    for name, v in one.items():
        # Equal up to float32 summation order (the batch is summed in other groupings).
        np.testing.assert_allclose(two[name], v, rtol=0, atol=2e-5, err_msg=name)
        np.testing.assert_allclose(accumulated[name], v, rtol=0, atol=2e-5, err_msg=name)
    # And training moved the weights: a test that would pass on an untrained model proves nothing.
    init = load_model_dir(fp32(str(tmp_path / "one")))[0]
    from trainer.model import initial_values

    start = initial_values(init.config, 0)
    assert max(np.abs(one[n] - start[n]).max() for n in start) > 0.01


def _kill_group(p: subprocess.Popen) -> None:
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()


def test_killed_run_resumes_to_the_uninterrupted_result(log, tmp_path):
    args = ["--epochs", "6", "--checkpoint-every", "4", "--nproc", "2"]
    full = tmp_path / "full"
    run_pretrain(["--file", log, "--out", str(full), *TINY, *args, "--fp32-out", str(full / "f32"), "--checkpoint-dir", str(tmp_path / "ck-full")])
    resumed = tmp_path / "resumed"
    ck = tmp_path / "ck"
    cmd = [PYTHON, "-m", "trainer.pretrain", "--file", log, "--out", str(resumed), *TINY, *args,
           "--fp32-out", str(resumed / "f32"), "--checkpoint-dir", str(ck)]
    p = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (ck / "checkpoint.pt").exists():
        assert p.poll() is None, "the run ended before its first checkpoint"
        assert time.time() < deadline
        time.sleep(0.05)
    assert p.poll() is None, "the run finished before it could be killed"
    _kill_group(p)
    assert not (resumed / "f32" / "model.json").exists()
    out = run_pretrain(cmd[3:])
    assert "resumed from" in out.stdout
    a, b = weights(str(full / "f32")), weights(str(resumed / "f32"))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_torchrun_style_launch_equals_the_spawn_launcher(log, tmp_path):
    """What torchrun does (one process per rank with RANK/WORLD_SIZE/LOCAL_RANK/MASTER_* set,
    env:// rendezvous) gives the spawn launcher's result bit for bit."""
    from trainer.distributed import free_port

    args = ["--file", log, *TINY, "--epochs", "1"]
    spawned = tmp_path / "spawned"
    run_pretrain([*args, "--nproc", "2", "--out", str(spawned), "--fp32-out", fp32(str(spawned))])
    launched = tmp_path / "launched"
    port = str(free_port())
    procs = []
    for rank in range(2):
        env = {**os.environ, "PYTHONPATH": ROOT, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2",
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port}
        procs.append(subprocess.Popen([PYTHON, "-m", "trainer.pretrain", *args, "--out", str(launched), "--fp32-out", fp32(str(launched))],
                                      cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert "2 process(es)" in outputs[0]
    a, b = weights(fp32(str(spawned))), weights(fp32(str(launched)))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_mixed_precision_path_trains_on_cpu_bf16(log, tmp_path):
    out = run_pretrain(["--file", log, *TINY, "--epochs", "1", "--amp", "bf16", "--out", str(tmp_path / "m")])
    assert "valid loss" in out.stdout
    values = weights(str(tmp_path / "m"))
    assert all(np.isfinite(v).all() for v in values.values())


def test_bad_input_fails_with_the_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("sequence_id,step,weekday,time_slot,behavior,split\na,0,1,2,L:on,train\na,1,8,2,L:off,train\n")
    out = subprocess.run([PYTHON, "-m", "trainer.pretrain", "--file", str(bad), "--out", str(tmp_path / "m")], cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True, text=True)
    assert out.returncode == 1
    assert f'error: {bad}: line 3, field "weekday": "8" is not a weekday (0–6, Monday = 0)' in out.stderr
    assert not (tmp_path / "m").exists()
