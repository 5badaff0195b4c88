"""Export: every format runs in a fresh Python without mmlkit and gives the checkpoint's logits,
carries the metadata, is refused (and leaves no file) when it does not match the checkpoint;
the command line around it."""

import copy
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from mmlkit import cli
from mmlkit.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from mmlkit.errors import CheckpointError, ExportError
from mmlkit.evaluation.export import (FORMATS, check_export, example_input, export_checkpoint, export_model,
                                      formats, load_exported, resolve_format, tolerance)
from mmlkit.models import TSN, load_checkpoint, save_checkpoint

K, T, SIZE = 5, 4, 32
NAMES = [f"Pushing [something] {i} from left to right \u00fc" for i in range(K)]
SUFFIX = {"pt2": ".pt2", "onnx": ".onnx", "torchscript": ".ts"}
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # python -I ignores PYTHONPATH

# Runs in a fresh interpreter (python -I: no PYTHONPATH, no cwd on sys.path) that refuses to
# import mmlkit: what a user without mmlkit installed has.
NO_MMLKIT = textwrap.dedent('''
    import importlib.abc, sys

    class NoMmlkit(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "mmlkit":
                raise ImportError(name + " imported while running an exported model")
            return None

    sys.meta_path.insert(0, NoMmlkit())
''')
FRESH = NO_MMLKIT + textwrap.dedent('''
    import json
    import numpy as np

    x = np.load(sys.argv[1])
    metas = {}
    for fmt, path in json.loads(sys.argv[2]).items():
        if fmt == "onnx":
            import onnxruntime as ort
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            s = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
            y = s.run(None, {s.get_inputs()[0].name: x})[0]
            meta = {k: json.loads(v) for k, v in s.get_modelmeta().custom_metadata_map.items()}
        else:
            import torch
            torch.set_num_threads(1)
            extra = {"meta.json": ""}
            if fmt == "pt2":
                m = torch.export.load(path, extra_files=extra).module()
            else:
                m = torch.jit.load(path, _extra_files=extra)
            with torch.no_grad():
                y = m(torch.from_numpy(x)).numpy()
            meta = json.loads(extra["meta.json"])
        np.save(path + ".logits.npy", y)
        metas[fmt] = meta
    assert not [m for m in sys.modules if m.split(".")[0] == "mmlkit"]
    print(json.dumps(metas))
''')


def _tsn(seed: int = 0) -> TSN:
    """A small TSM (shift on) with a head of trained scale: logits of order 1, not 1e-3."""
    torch.manual_seed(seed)
    m = TSN(K, T, "RGB", arch="resnet_tiny", dropout=0.0)
    torch.nn.init.normal_(m.new_fc.weight, 0.0, 1.0)
    torch.nn.init.normal_(m.new_fc.bias, 0.0, 0.1)
    return m.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The checkpoint exported in every format, then run on a saved input by a fresh Python."""
    d = tmp_path_factory.mktemp("export")
    ck = save_checkpoint(d / "rgb.pt", _tsn(), epoch=3)
    runs = {f: export_checkpoint(ck, d / f"rgb{SUFFIX[f]}", size=SIZE, class_names=NAMES) for f in FORMATS}
    x = example_input(T, 3, SIZE, batch=3, seed=7).numpy()  # a batch size the export was not checked at
    np.save(d / "x.npy", x)
    (d / "fresh.py").write_text(FRESH)
    paths = {f: r["path"] for f, r in runs.items()}
    p = subprocess.run([sys.executable, "-I", str(d / "fresh.py"), str(d / "x.npy"), json.dumps(paths)],
                       capture_output=True, text=True, cwd=d, env=ENV)
    assert p.returncode == 0, p.stderr[-3000:]
    return {"dir": d, "ck": ck, "runs": runs, "x": x, "fresh_meta": json.loads(p.stdout.splitlines()[-1])}


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_gives_the_checkpoints_logits_without_mmlkit(exported, fmt):
    with torch.no_grad():
        want = load_checkpoint(exported["ck"])(torch.from_numpy(exported["x"]))        # (3, K), in this process
    got = torch.from_numpy(np.load(exported["runs"][fmt]["path"] + ".logits.npy"))
    assert got.shape == (3, K) and float(want.abs().max()) > 0.1                    # logits of trained scale
    assert float((got - want).abs().max()) <= tolerance(want)
    r = exported["runs"][fmt]
    assert r["format"] == fmt and r["max_abs_diff"] <= r["tolerance"] and r["checked_batches"] == [2, 1]
    assert r["input_shape"] == [T, 3, SIZE, SIZE]


@pytest.mark.parametrize("fmt", FORMATS)
def test_metadata_round_trips(exported, fmt):
    r = exported["runs"][fmt]
    _, meta = load_exported(r["path"])
    assert meta == r["meta"] == exported["fresh_meta"][fmt]                        # also read without mmlkit
    assert (meta["format"], meta["modality"], meta["num_segments"], meta["channels"]) == (fmt, "RGB", T, 3)
    assert (meta["input_size"], meta["input_shape"], meta["num_classes"]) == (SIZE, [None, T, 3, SIZE, SIZE], K)
    assert meta["mean"] == list(IMAGENET_MEAN) and meta["std"] == list(IMAGENET_STD)
    assert meta["class_names"] == NAMES and meta["checkpoint"] == "rgb.pt"
    assert meta["model"]["arch"] == "resnet_tiny" and meta["model"]["shift"] is True


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_that_differs_is_refused_and_leaves_no_file(exported, fmt, monkeypatch, tmp_path):
    """The file written holds the original model, the checkpoint a bias-shifted one."""
    bad = _tsn()
    with torch.no_grad():
        bad.new_fc.bias += 0.05
    ck = save_checkpoint(tmp_path / "tampered.pt", bad)
    good_file = exported["runs"][fmt]["path"]
    monkeypatch.setitem(formats.WRITERS, fmt, lambda model, x, path, meta: path.write_bytes(open(good_file, "rb").read()))
    out = tmp_path / f"m{SUFFIX[fmt]}"
    out.write_bytes(b"an earlier export")
    with pytest.raises(ExportError, match=rf"m\{SUFFIX[fmt]} \({fmt} export of tampered\.pt; not written\): "
                                          rf"the exported logits differ by 0\.05"):
        export_checkpoint(ck, out, size=SIZE)
    assert out.read_bytes() == b"an earlier export"                                 # not replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name, "tampered.pt"]  # no temporary left
    out.unlink()
    with pytest.raises(ExportError, match="differ"):
        export_checkpoint(ck, out, size=SIZE)
    assert not out.exists()


def _fresh_python(script: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``script`` in ``python -I`` (no PYTHONPATH, no cwd on sys.path), one thread."""
    (cwd / "script.py").write_text(script)
    p = subprocess.run([sys.executable, "-I", "script.py"], capture_output=True, text=True, cwd=cwd,
                       env=ENV)
    assert p.returncode == 0, p.stderr[-3000:]
    return p


def test_the_readme_deployment_snippet_gives_mmlkits_test_view_logits(exported, tmp_path):
    """docs/deployment.md's blocks (linked from the README), run without mmlkit on a webm, against mmlkit's own one-clip, one-crop test view."""
    from mmlkit.config import DataConfig
    from mmlkit.data.dataset import ClipDataset
    from mmlkit.data.sthv2 import VideoRecord
    from mmlkit.data.synthetic import encode_webm
    from mmlkit.data.video import VideoSource

    text = (Path(__file__).resolve().parents[2] / "docs" / "deployment.md").read_text()
    section = text.split("## Deploying the single RGB model", 1)[1].split("\n## ", 1)[0]
    prep, run_pt2, run_onnx = re.findall(r"```python\n(.*?)```", section, re.S)
    rng = np.random.default_rng(0)
    frames = np.repeat(rng.integers(0, 256, (30, 12, 16, 3), dtype=np.uint8), 4, 1).repeat(4, 2)  # (30, 48, 64, 3)
    for i in range(30):
        frames[i, 8:24, 2 * i:2 * i + 12] = (230, 200, 60)                          # a square moving right
    root = tmp_path / "data"
    (root / "videos").mkdir(parents=True)
    encode_webm(frames, root / "videos" / "v0.webm")
    meta = exported["runs"]["pt2"]["meta"]
    cfg = DataConfig(dataset=str(root), num_segments=T, input_size=SIZE, scale_size=meta["scale_size"], source="video")
    ds = ClipDataset([VideoRecord("v0", 0)], VideoSource(root), "RGB", cfg, train=False, seed=0)
    clip = ds[0]["inputs"]["RGB"]                                                    # (1, T, 3, S, S)
    with torch.no_grad():
        want = load_checkpoint(exported["ck"])(clip)
    for fmt, block in (("pt2", run_pt2), ("onnx", run_onnx)):
        d = tmp_path / fmt
        d.mkdir()
        (d / "video.webm").symlink_to(root / "videos" / "v0.webm")
        (d / f"rgb.{fmt}").symlink_to(exported["runs"][fmt]["path"])
        tail = "\nnp.save('clip.npy', load_clip('video.webm', meta))\nnp.save('logits.npy', logits)\n"
        tail += "assert 'torch' not in sys.modules and 'av' in sys.modules\n" if fmt == "onnx" else ""
        guard = NO_MMLKIT.replace('"mmlkit"', '"decord"') if fmt == "onnx" else ""  # PyAV's branch too
        p = _fresh_python(NO_MMLKIT + guard + prep + block + tail, d)
        assert p.stdout.strip() in NAMES
        assert float(np.abs(np.load(d / "clip.npy") - clip.numpy()).max()) < 1e-5    # float32 rounding only
        got = torch.from_numpy(np.load(d / "logits.npy"))
        assert got.shape == (1, K) and float((got - want).abs().max()) <= tolerance(want), fmt


def test_a_tampering_writer_is_caught(monkeypatch, tmp_path):
    """The real pt2 writer, handed a copy of the model whose bias was shifted."""
    real = formats.WRITERS["pt2"]

    def tampered(model, x, path, meta):
        evil = copy.deepcopy(model)
        with torch.no_grad():
            evil.new_fc.bias[0] += 1e-2
        real(evil, x, path, meta)

    monkeypatch.setitem(formats.WRITERS, "pt2", tampered)
    with pytest.raises(ExportError, match="differ"):
        export_model(_tsn(), tmp_path / "m.pt2", input_size=SIZE)
    assert list(tmp_path.iterdir()) == []


def test_check_export_detects_difference(tmp_path, tiny_net):
    model = tiny_net(num_segments=T)
    r = export_model(model, tmp_path / "m.ts", input_size=16)
    x = example_input(T, 3, 16, batch=3)
    assert check_export(model, r["path"], [x]) <= r["tolerance"]
    with torch.no_grad():
        model.fc.bias += 1.0
    with pytest.raises(ExportError, match="differ"):
        check_export(model, r["path"], [x])


def test_onnx_without_its_packages_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnxscript", None)                           # import onnxscript fails
    with pytest.raises(ExportError, match="ONNX export needs the packages onnxscript: pip install"):
        export_model(_tsn(), tmp_path / "m.onnx", input_size=SIZE)
    assert list(tmp_path.iterdir()) == []


def test_the_model_comes_back_in_its_mode(tmp_path):
    model = _tsn().train()
    export_model(model, tmp_path / "m.ts", input_size=SIZE)
    assert model.training and next(model.parameters()).device.type == "cpu"
    assert check_export(model, tmp_path / "m.ts", example_input(T, 3, SIZE, batch=2)) <= 1e-5   # one tensor


@pytest.mark.parametrize("path, fmt, want", [
    ("m.pt2", None, "pt2"), ("m.onnx", None, "onnx"), ("m.ts", None, "torchscript"), ("m.bin", None, "pt2"),
    ("m.bin", "onnx", "onnx"), ("m.ONNX", "onnx", "onnx")])
def test_format_from_suffix(path, fmt, want):
    assert resolve_format(path, fmt) == want


def test_a_suffix_that_names_another_format_is_refused():
    with pytest.raises(ExportError, match=r"m\.pt2: the suffix \.pt2 means format 'pt2', but format 'onnx'"):
        resolve_format("m.pt2", "onnx")
    with pytest.raises(ExportError, match="'tflite' is not one of"):
        resolve_format("m.x", "tflite")


def test_bad_checkpoints_are_refused_naming_file_and_value(tmp_path):
    ck = save_checkpoint(tmp_path / "rgb.pt", _tsn())
    with pytest.raises(CheckpointError, match=r"rgb\.pt holds a model with modality='RGB', but modality='Flow'"):
        export_checkpoint(ck, tmp_path / "m.ts", modality="Flow", size=SIZE)
    with pytest.raises(CheckpointError, match=r"rgb\.pt holds a model with num_segments=4, but num_segments=8"):
        export_checkpoint(ck, tmp_path / "m.ts", num_segments=8, size=SIZE)
    with pytest.raises(ExportError, match=r"rgb\.pt: input size 4 is below 8"):
        export_checkpoint(ck, tmp_path / "m.ts", size=4)
    with pytest.raises(ExportError, match=r"2 class names for a model of 5 classes \(rgb\.pt\)"):
        export_checkpoint(ck, tmp_path / "m.ts", size=SIZE, class_names=["a", "b"])
    torch.save({"state_dict": {"features.0.weight": torch.zeros(3)}}, tmp_path / "image.pt")
    with pytest.raises(CheckpointError, match=r"image\.pt is not a TSN checkpoint"):
        export_checkpoint(tmp_path / "image.pt", tmp_path / "m.ts", size=SIZE)
    (tmp_path / "notes.pt").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match=r"notes\.pt: checkpoint refused"):
        export_checkpoint(tmp_path / "notes.pt", tmp_path / "m.ts", size=SIZE)
    assert not (tmp_path / "m.ts").exists()


def test_sizes_come_from_the_run_folder(tmp_path):
    ck = save_checkpoint(tmp_path / "model0_RGB.pt", _tsn())
    (tmp_path / "config.json").write_text(json.dumps({"data": {"input_size": 40, "scale_size": 48}}))
    r = export_checkpoint(ck, tmp_path / "m.ts")
    assert r["input_shape"] == [T, 3, 40, 40] and (r["meta"]["input_size"], r["meta"]["scale_size"]) == (40, 48)
    r = export_checkpoint(ck, tmp_path / "m.ts", size=56)                           # another size: the paper's ratio
    assert (r["meta"]["input_size"], r["meta"]["scale_size"]) == (56, 64)


# ------------------------------------------------------------------------------ command line

def _labels(folder, k):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "labels.json").write_text(json.dumps({f"Doing thing {i}": str(i) for i in range(k)}))
    return folder


def test_cli_export_prints_one_json_line(tmp_path, capsys):
    ck = save_checkpoint(tmp_path / "rgb.pt", _tsn())
    root = _labels(tmp_path / "data", K)
    assert cli.main(["export", "--weights", str(ck), "--out", str(tmp_path / "m.ts"), "--input_size", "32",
                     "--data_root", str(root), "--modality", "RGB", "--num_segments", "4"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    info = json.loads(lines[0])
    assert (info["format"], info["path"], info["input_shape"]) == ("torchscript", str(tmp_path / "m.ts"), [T, 3, 32, 32])
    assert info["max_abs_diff"] <= info["tolerance"] and info["meta"]["class_names"][1] == "Doing thing 1"
    assert load_exported(tmp_path / "m.ts")[1]["class_names"] == info["meta"]["class_names"]


@pytest.mark.parametrize("argv, needle", [
    (["--format", "onnx"], "the suffix .ts means format 'torchscript', but format 'onnx' was asked for"),
    (["--modality", "Flow"], "rgb.pt holds a model with modality='RGB', but modality='Flow' was asked for"),
    (["--num_segments", "8"], "rgb.pt holds a model with num_segments=4, but num_segments=8 was asked for"),
    (["--data_root", "LABELS6"], "6 class names for a model of 5 classes (rgb.pt)"),
])
def test_cli_export_refusals_are_one_line_and_leave_no_file(tmp_path, capsys, argv, needle):
    ck = save_checkpoint(tmp_path / "rgb.pt", _tsn())
    argv = [str(_labels(tmp_path / "six", 6)) if a == "LABELS6" else a for a in argv]
    out = tmp_path / "m.ts"
    assert cli.main(["export", "--weights", str(ck), "--out", str(out), "--input_size", "32", *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_format_choices_are_the_exporters():
    action = next(a for a in cli.build_parser()._subparsers._group_actions[0].choices["export"]._actions
                  if a.dest == "format")
    assert tuple(action.choices) == FORMATS
