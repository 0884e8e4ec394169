"""PyTorch against TypeScript on the same inputs: the data pipeline (parsing, vocabularies,
windows, batches, errors), the initialisation, the logits of TS-written weights (1), a model
trained by PyTorch on 2 processes loaded by the TS Predictor (2), the objectives' loss values
with DRO's updates (3), the weight writer's bytes, and the ONNX export under ONNX Runtime Web.

Tolerance on logits: 1e-5 × max(1, |logit|). tfjs's own float32 result differs from the exact
(float64) one by up to 1.1e-5 at logits near 30 (measured on the shipped model), so a bare
absolute 1e-5 would test tfjs's rounding, not the port; probabilities are compared at 1e-5 absolute."""
from __future__ import annotations

import gzip
import json
import os

import numpy as np
import pytest
import torch

from trainer.batch import Encoder, bucket_batches, to_examples
from trainer.data import DataError, read_log_file
from trainer.losses import Objective, count_targets
from trainer.model import initial_values
from trainer.onnx_export import export_onnx
from trainer.recipe import build_vocabularies
from trainer.rng import create_rng
from trainer.weights import load_model_dir, save_model_dir, serialize

from .conftest import ROOT, SHIPPED, SHIPPED_FP32, run_pretrain, shipped_names, twin, write_canonical

FIELDS = {"behaviors": "behaviors", "weekdays": "weekdays", "slots": "slots", "locations": "locations", "target_weekdays": "targetWeekdays",
          "target_slots": "targetSlots", "target_locations": "targetLocations", "targets": "targets"}


def ts_batch(b: dict) -> dict:
    shape = (b["batchSize"], b["length"])
    return {k: torch.tensor(b[tk], dtype=torch.int64).reshape(shape) for k, tk in FIELDS.items()}


def assert_logits_close(got: np.ndarray, ref: np.ndarray) -> float:
    """Compares outside the −1e9 mask; returns the largest absolute difference."""
    keep = ref > -1e8
    assert np.array_equal(got <= -1e8, ~keep), "the special-token mask differs"
    diff = np.abs(got[keep] - ref[keep])
    bound = 1e-5 * np.maximum(1.0, np.abs(ref[keep]))
    assert (diff <= bound).all(), f"largest difference {diff.max()} (bound {bound[diff.argmax()]})"
    return float(diff.max())


# --- data ------------------------------------------------------------------------------------------


def compare_pipeline(path: str, context: int, batch: int, seed: int) -> None:
    ts = twin("batches", "--file", path, "--context", str(context), "--batch", str(batch), "--seed", str(seed))
    log = read_log_file(path)
    assert log.format == ts["format"] and log.events == ts["events"] and log.behaviors() == ts["behaviorNames"]
    assert log.warnings == ts["warnings"]
    seqs = log.all()
    assert [(log.seq_ids[i], log.seq_splits[i]) for i in range(len(log.seq_ids))] == [(s["id"], s["split"]) for s in ts["sequences"]]
    assert [[list(e) for e in events] for events in seqs.to_events()] == [s["events"] for s in ts["sequences"]]
    train = seqs if all(s is None for s in log.seq_splits) else type(seqs)(log, np.array([i for i, s in enumerate(log.seq_splits) if s == "train"]))
    behaviors, locations = build_vocabularies(train)
    assert behaviors.to_json() == ts["behaviors"] and locations.to_json() == ts["locations"]
    ex = to_examples(seqs, context)
    assert [(log.seq_ids[q], int(o), int(f), int(n)) for q, o, f, n in zip(ex.seq, ex.offset, ex.first, ex.length)] == \
        [(e["sequenceId"], e["offset"], e["firstTarget"], e["length"]) for e in ts["examples"]]
    rng = create_rng(seed)
    enc = Encoder(log, behaviors, locations)
    batches = bucket_batches(ex.length, batch, rng)
    assert len(batches) == len(ts["batches"])
    for idx, b in zip(batches, ts["batches"]):
        mine = enc.encode(ex.take(idx))
        for k, v in ts_batch(b).items():
            np.testing.assert_array_equal(mine[k], v.numpy(), err_msg=k)
    assert rng() == ts["next"], "the random stream was consumed differently"


def test_canonical_log_with_splits_and_locations_gives_the_same_batches(tmp_path):
    path = write_canonical(str(tmp_path / "log.csv"), shipped_names()[:30] + ['Light:"quoted, name"'], sequences=25, max_len=50,
                           splits=True, locations=["kitchen", "hall", ""])
    compare_pipeline(path, context=9, batch=5, seed=3)
    # The column-wise .npz (python3 -m trainer.data) holds the same log.
    from trainer.data import save_npz

    save_npz(read_log_file(path), str(tmp_path / "log.npz"))
    a, b = read_log_file(path), read_log_file(str(tmp_path / "log.npz"))
    assert (a.names, a.location_names, a.seq_ids, a.seq_splits) == (b.names, b.location_names, b.seq_ids, b.seq_splits)
    for column in ("behavior", "weekday", "slot", "location", "offsets"):
        np.testing.assert_array_equal(getattr(a, column), getattr(b, column))


def test_timestamped_gzip_log_gives_the_same_batches(tmp_path):
    rows = ["user_id,timestamp,behavior,location"]
    stamps = ["2024-03-04T23:30:00+09:00", "2024-03-04T23:30:00Z", "1709590200", "1709590200.75", "2024-02-29 08:15",
              "2024-03-05T01:00:00.5-05:30", "-86400", "0099-12-31T22:00:00", "\"2024-03-04T23:30:00,123+01:00\""]
    for u in range(7):
        for i, s in enumerate(stamps):
            rows.append(f"u{u % 4},{s},Dev{(u + i) % 5}:cmd {i % 3},{'home' if i % 2 else ''}")
    path = tmp_path / "log.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\ufeff" + "\r\n".join(rows) + "\r\n")
    compare_pipeline(str(path), context=6, batch=3, seed=9)


BAD_FILES = {
    "weekday.csv": "sequence_id,step,weekday,time_slot,behavior\na,0,1,2,L:on\na,1,9,2,L:off\n",
    "gap.csv": "sequence_id,step,weekday,time_slot,behavior\na,0,1,2,L:on\na,2,1,2,L:off\n",
    "again.csv": "sequence_id,step,weekday,time_slot,behavior\na,0,1,2,L:on\nb,0,1,2,L:on\na,1,1,2,L:off\n",
    "split.csv": "sequence_id,step,weekday,time_slot,behavior,split\na,0,1,2,L:on,train\na,1,1,2,L:off,test\n",
    "fields.csv": "sequence_id,step,weekday,time_slot,behavior\n\na,0,1,2,L:on\na,1,1,2\n",
    "header.csv": "id,when,what\n1,2,3\n",
    "empty.csv": "",
    "only-header.csv": "user_id,timestamp,behavior\n",
    "millis.csv": "user_id,timestamp,behavior\nu,1709590200000,L:on\n",
    "date.csv": "user_id,timestamp,behavior\nu,2023-02-29T10:00:00,L:on\n",
    "twice.csv": "user_id,timestamp,behavior,behavior\nu,1,a,b\n",
    "missing.csv": "sequence_id,step,weekday,behavior\na,0,1,L:on\n",
    "empty-behavior.csv": "sequence_id,step,weekday,time_slot,behavior\na,0,1,2,  \n",
    "reserved.csv": "sequence_id,step,weekday,time_slot,behavior\na,0,1,2,<unk>\n",
    "long-name.csv": "sequence_id,step,weekday,time_slot,behavior\na,0,1,2," + "x" * 300 + "\n",
    "long-row.csv": "sequence_id,step,weekday,time_slot,behavior\na,0,1,2," + "x," * 40000 + "\n",
    "cut-off.csv": "sequence_id,step,weekday,time_slot,behavior\na,0,1,2,Light:switch on\na,1,1,2,Light:swi",
    "after-quote.csv": 'sequence_id,step,weekday,time_slot,behavior\na,0,1,2,"L:on"x\n',
    "open-quote.csv": 'sequence_id,step,weekday,time_slot,behavior\na,0,1,2,"L:on\r\na,1,1,2,L:off\n',
    "quoted-lines.csv": 'sequence_id,step,weekday,time_slot,behavior\r"a\r\nb",0,1,2,L:on\ra,1,9,2,L:off\r',
    "header-late.csv": "\n\n \nsequence_id,step,weekday,time_slot,behavior,behavior\n",
    "location.csv": "sequence_id,step,weekday,time_slot,behavior,location\na,0,1,2,L:on," + "y" * 257 + "\n",
}
# Accepted with a warning, or cleanly (mixed line endings, a stray quote inside a value).
GOOD_FILES = {
    "no-break.csv": "sequence_id,step,weekday,time_slot,behavior\na,0,1,2,Light:switch on\na,1,1,2,Door:open",
    "epoch.csv": "user_id,timestamp,behavior\nu,1709590200,L:on\nu,86400,L:off\nv,4102444800,L:on\n",
    "mixed.csv": 'sequence_id,step,weekday,time_slot,behavior\ra,0,1,2,L:"on"\r\na,1,1,2,L:off\n\rb,0,3,4,"L,x"\n',
}


def test_bad_files_get_the_same_error_messages_and_warnings(tmp_path):
    for name, text in {**BAD_FILES, **GOOD_FILES}.items():
        (tmp_path / name).write_bytes(text.encode("utf-8"))
    (tmp_path / "latin1.csv").write_bytes(b"sequence_id,step,weekday,time_slot,behavior\ra,0,1,2,L:on\r\na,1,1,2,Caf\xe9\n")
    (tmp_path / "cut-char.csv").write_bytes("sequence_id,step,weekday,time_slot,behavior\na,0,1,2,Café\n".encode()[:-2])
    expected = twin("parse-errors", "--dir", str(tmp_path))
    assert len(expected) == len(BAD_FILES) + len(GOOD_FILES) + 2
    for name, answer in expected.items():
        if name in GOOD_FILES:
            assert answer["error"] is None, f"{name}: {answer['error']}"
            log = read_log_file(str(tmp_path / name))
            assert log.warnings == answer["warnings"], name
            continue
        assert answer["error"], f"{name}: the TS side accepted it"
        with pytest.raises(DataError) as err:
            read_log_file(str(tmp_path / name))
        assert str(err.value) == answer["error"], name
    assert sum(len(expected[n]["warnings"]) for n in GOOD_FILES) == 2, "the warnings are not exercised"


# --- model -----------------------------------------------------------------------------------------


def test_seeded_initialisation_equals_behavegpt_create(tmp_path):
    config = {"numBehaviors": 11, "numLocations": 3, "specialBehaviorIds": [0, 1, 2], "contextLength": 7, "behaviorDim": 8, "weekdayDim": 4,
              "slotDim": 4, "locationDim": 4, "targetDim": 4, "numLayers": 2, "numHeads": 2, "mlpRatio": 4, "headHidden": 12, "dropout": 0.1,
              "useContext": True, "timeHead": True, "timeHidden": 16}
    (tmp_path / "config.json").write_text(json.dumps(config))
    twin("init", "--config", str(tmp_path / "config.json"), "--seed", "7", "--out", str(tmp_path / "ts"))
    ts, *_ = load_model_dir(str(tmp_path / "ts"))
    mine = initial_values(config, 7)
    assert list(mine) == list(ts.values())
    for name, v in ts.values().items():
        np.testing.assert_allclose(mine[name], v, rtol=1e-6, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("folder", [SHIPPED, SHIPPED_FP32], ids=["int8", "float32"])
def test_ts_written_weights_give_tfjs_logits_in_pytorch(folder, shipped_vocab_log):
    """Parity (1): the shipped model's files, read by PyTorch, on a few hundred positions."""
    model, *_ = load_model_dir(folder)
    model.eval()
    positions = 0
    for entry in twin("logits", "--model", folder, "--file", shipped_vocab_log):
        b = ts_batch(entry["batch"])
        with torch.no_grad():
            logits, time = model.batch_forward(b)
        n = b["behaviors"].numel()
        assert_logits_close(logits.reshape(n, -1).numpy(), np.array(entry["logits"], np.float32).reshape(n, -1))
        assert_logits_close(time.reshape(n, -1).numpy(), np.array(entry["time"], np.float32).reshape(n, -1))
        positions += n
    assert positions >= 300


def test_python_writer_reproduces_the_shipped_int8_files_byte_for_byte(tmp_path):
    fp32, behaviors, locations, manifest = load_model_dir(SHIPPED_FP32)
    with open(os.path.join(SHIPPED, "model.json")) as f:
        shipped = json.load(f)
    mine, shards = serialize(fp32.values(), manifest["config"], behaviors, locations, shipped["name"], shipped["training"], "uint8")
    assert mine["weightsManifest"][0]["weights"] == shipped["weightsManifest"][0]["weights"]
    with open(os.path.join(SHIPPED, shipped["weightsManifest"][0]["paths"][0]), "rb") as f:
        assert shards[0] == f.read()
    # The folder written by save_model_dir loads (sizes and SHA-256 checked) to the same values.
    save_model_dir(str(tmp_path / "m"), fp32, behaviors, locations, "m", {}, "float32")
    again, *_ = load_model_dir(str(tmp_path / "m"))
    for name, v in fp32.values().items():
        np.testing.assert_array_equal(again.values()[name], v)
    shard = tmp_path / "m" / "weights-shard1of1.bin"
    data = bytearray(shard.read_bytes())
    data[100] ^= 1
    shard.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="SHA-256"):
        load_model_dir(str(tmp_path / "m"))


@pytest.mark.parametrize("spec", [
    {"name": "dro", "tau": 0.1, "dro": {"radius": 0.03, "tailMix": 0.02}},
    {"name": "dro", "dro": {"radius": 0.05, "tailMix": 0, "priorBeta": 0.99, "maxWeight": 3, "emaRate": 0.5}},
    {"name": "class-balanced", "beta": 0.99},
    {"name": "logit-adjusted", "tau": 0.5, "labelSmoothing": 0.1},
], ids=["dro-tau", "dro-prior", "class-balanced", "logit-adjusted-smoothed"])
def test_objective_loss_values_and_dro_updates_match(spec, shipped_vocab_log):
    """Parity (3): the loss of each batch, DRO folding each batch's class losses in between, and
    the first batch again under the updated weights."""
    ts = twin("dro", "--model", SHIPPED_FP32, "--file", shipped_vocab_log, "--spec", json.dumps(spec))
    model, behaviors, locations, _ = load_model_dir(SHIPPED_FP32)
    model.eval()
    log = read_log_file(shipped_vocab_log)
    counts = count_targets(log.all(), behaviors)
    assert counts == ts["counts"]
    objective = Objective(spec, counts, behaviors.is_special)
    ex = to_examples(log.all(), int(model.config["contextLength"]))
    enc = Encoder(log, behaviors, locations)
    batches = bucket_batches(ex.length, 64)
    losses, weights = [], []
    for idx in [*batches, batches[0]]:
        b = {k: torch.from_numpy(v) for k, v in enc.encode(ex.take(idx)).items()}
        with torch.no_grad():
            logits, _ = model.batch_forward(b)
        losses.append(float(objective.loss(logits, b["targets"], objective.weight_tensor())))
        w = objective.class_weights()
        weights.append([] if w is None else list(w))
        objective.after_step()
    np.testing.assert_allclose(losses, ts["losses"], rtol=1e-5)
    for mine, theirs in zip(weights, ts["weights"]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-12)
    if spec["name"] == "dro":
        assert not np.allclose(weights[0], weights[-1]), "DRO weights never moved: the update is not tested"


def test_model_trained_by_pytorch_on_two_processes_loads_in_the_ts_predictor(tmp_path):
    """Parity (2): a tiny model, a few DDP steps (gloo, CPU), written int8 and float32; the TS
    Predictor reads both and gives the same probabilities and top-5 as PyTorch."""
    names = shipped_names()[:40]
    log = write_canonical(str(tmp_path / "train.csv"), names, sequences=40, max_len=30, splits=True, seed=2, locations=["a", "b"])
    queries = write_canonical(str(tmp_path / "queries.csv"), names, sequences=8, max_len=12, seed=4, locations=["a", "b"])
    out, f32 = str(tmp_path / "int8"), str(tmp_path / "fp32")
    run_pretrain(["--file", log, "--nproc", "2", "--size", "xs", "--batch", "16", "--epochs", "3", "--threads", "1", "--no-test",
                  "--objective", "dro", "--out", out, "--fp32-out", f32, "--onnx", str(tmp_path / "m.onnx")])
    with open(os.path.join(out, "model.json")) as f:
        manifest = json.load(f)
    assert manifest["training"]["trainer"]["processes"] == 2 and manifest["training"]["steps"] > 4
    group = manifest["weightsManifest"][0]
    assert len(group["byteLengths"]) == len(group["paths"]) == len(group["sha256"])
    from trainer.batch import encode_query

    for folder in (out, f32):
        model, behaviors, locations, _ = load_model_dir(folder)
        model.eval()
        answers = twin("predict", "--model", folder, "--file", queries)
        assert len(answers) > 20
        for q in answers:
            batch, position = encode_query([tuple(e) for e in q["history"]], tuple(q["next"]), behaviors, locations, int(model.config["contextLength"]))
            with torch.no_grad():
                logits, _ = model.batch_forward({k: torch.from_numpy(v) for k, v in batch.items()})
            probs = torch.softmax(logits[0, position], -1).numpy()
            np.testing.assert_allclose(probs, q["probabilities"], rtol=0, atol=1e-5)
            special = set(model.config["specialBehaviorIds"])
            top = [i for i in np.argsort(-probs, kind="stable") if i not in special][:5]
            assert [behaviors.name(int(i)) for i in top] == q["top5"]
        for entry in twin("logits", "--model", folder, "--file", queries):
            b = ts_batch(entry["batch"])
            with torch.no_grad():
                logits, time = model.batch_forward(b)
            n = b["behaviors"].numel()
            assert_logits_close(logits.reshape(n, -1).numpy(), np.array(entry["logits"], np.float32).reshape(n, -1))
    # Its ONNX export (dynamic batch and sequence) under ONNX Runtime Web, against tfjs.
    check = twin("onnx", "--model", f32, "--onnx", str(tmp_path / "m.onnx"), "--file", queries)  # the float32 network
    assert check["behaviorDiff"] <= 1e-5 * max(1.0, check["behaviorScale"]) and check["timeDiff"] <= 1e-5


def test_committed_onnx_of_the_shipped_model_matches_tfjs(shipped_vocab_log, tmp_path):
    committed = os.path.join(ROOT, "models", "behavegpt-us.onnx")
    check = twin("onnx", "--model", SHIPPED, "--onnx", committed, "--file", shipped_vocab_log)
    assert check["inputNames"] == ["behaviors", "weekdays", "slots", "locations", "target_weekdays", "target_slots", "target_locations"]
    assert check["outputNames"] == ["behavior_logits", "time_logits"]
    assert check["positions"] >= 300
    assert check["behaviorDiff"] <= 1e-5 and check["timeDiff"] <= 1e-5, check
    # A fresh export of the shipped folder is the committed network (regenerate it with trainer.onnx_export if this fails).
    model, *_ = load_model_dir(SHIPPED)
    export_onnx(model, str(tmp_path / "fresh.onnx"))
    fresh = twin("onnx", "--model", SHIPPED, "--onnx", str(tmp_path / "fresh.onnx"), "--file", shipped_vocab_log)
    assert fresh["behaviorDiff"] <= 1e-5 and fresh["timeDiff"] <= 1e-5


def test_python_evaluation_equals_the_ts_evaluation(shipped_vocab_log):
    """The valid figures that pick the epoch: the same ranks, metrics, loss and time-head scores."""
    from trainer.evaluate import evaluate_model, full_metrics, head_behaviors

    ts = twin("evaluate", "--model", SHIPPED, "--file", shipped_vocab_log, "--split", "test")["test"]
    model, behaviors, locations, _ = load_model_dir(SHIPPED)
    log = read_log_file(shipped_vocab_log)
    mine = evaluate_model(model, log.all(), behaviors, locations)
    metrics = full_metrics(mine["targets"], head_behaviors(log.all().behavior_counts()))
    assert metrics["targets"] == ts["targets"] > 300
    for key, value in metrics.items():
        assert value == pytest.approx(ts[key], abs=1e-12), key
    assert mine["loss"] == pytest.approx(ts["loss"], rel=1e-5)
    for key in ("accuracy", "slotAccuracy", "count", "sameSlotShare"):
        assert mine["time"][key] == pytest.approx(ts["time"][key], abs=1e-12), key
    assert mine["time"]["loss"] == pytest.approx(ts["time"]["loss"], rel=1e-5)


def test_training_without_dropout_follows_the_ts_trainer(tmp_path):
    """The whole training loop on both sides from the same seed, without dropout (its random
    masks are the one thing the engines cannot share): same batch order, schedule, AdamW,
    clipping, DRO updates, evaluation and epoch choice; weights agree up to float32 rounding
    carried through the steps."""
    from trainer.data import split_sequences
    from trainer.model import BehaveGPT
    from trainer.recipe import build_config, size_overrides
    from trainer.train import TrainOptions, train_model

    log_path = write_canonical(str(tmp_path / "log.csv"), shipped_names()[:30], sequences=50, max_len=30, splits=True, seed=21)
    overrides = {**size_overrides("xs"), "dropout": 0, "timeHead": True}
    spec = {"name": "dro", "tau": 0.1, "dro": {"radius": 0.05, "tailMix": 0.02}}
    ts_options = {"epochs": 8, "batchSize": 8, "learningRate": 3e-3, "warmupSteps": 5, "patience": 3, "seed": 5, "objective": spec}
    ts = twin("train", "--file", log_path, "--config", json.dumps(overrides), "--options", json.dumps(ts_options), "--out", str(tmp_path / "ts"))
    log = read_log_file(log_path)
    train, valid = split_sequences(log, "train"), split_sequences(log, "valid")
    behaviors, locations = build_vocabularies(train)
    model = BehaveGPT(build_config(behaviors, locations, overrides), seed=5)
    result = train_model(model, train, valid, behaviors, locations,
                         TrainOptions(epochs=8, batch_size=8, learning_rate=3e-3, warmup_steps=5, patience=3, seed=5, objective=spec))
    assert (result.steps, result.best_epoch, result.epochs_run) == (ts["steps"], ts["bestEpoch"], ts["epochsRun"]) and result.steps > 20
    for mine, theirs in zip(result.history, ts["history"]):
        assert mine["trainLoss"] == pytest.approx(theirs["trainLoss"], rel=1e-3)
        assert mine["validLoss"] == pytest.approx(theirs["validLoss"], rel=1e-3)
    reference, *_ = load_model_dir(str(tmp_path / "ts"))
    worst = max(float(np.abs(model.values()[name] - v).max()) for name, v in reference.values().items())
    print(f"largest weight difference after {result.steps} steps: {worst:.2e}")
    assert worst <= 1e-5
