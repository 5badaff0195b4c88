"""The three file formats: write one model with its metadata, read it back, run it.

Every writer takes a model in eval mode on the CPU, an example input float32 (B, T, C, H, W)
with B >= 2 (so that the batch dimension is traced as a variable, not as the constant 1), the
metadata (a JSON-able dict) and the path to write. Every reader returns ``(run, meta)``: ``run``
maps a float32 (B, T, C, H, W) tensor, any B >= 1, to float32 logits (B, K) on the CPU.

Where the metadata goes (the same dict in all three, as JSON):

=============  ================================================================================
``pt2``        ``torch.export.save(..., extra_files={"meta.json": ...})``: a file of the archive
``onnx``       ``metadata_props`` of the ModelProto, one entry per key, each value JSON-encoded
               (onnxruntime: ``session.get_modelmeta().custom_metadata_map``)
``torchscript`` ``torch.jit.save(..., _extra_files={"meta.json": ...})``
=============  ================================================================================
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Callable

import torch

from mmlkit.config import EXPORT_FORMATS
from mmlkit.errors import ExportError

#: The formats, in the order the CLI lists them (the first is the default).
FORMATS: tuple[str, ...] = EXPORT_FORMATS
#: File suffix -> format, and the suffix each format's files get.
SUFFIXES: dict[str, str] = {".pt2": "pt2", ".onnx": "onnx", ".ts": "torchscript"}
SUFFIX_OF: dict[str, str] = {f: s for s, f in SUFFIXES.items()}
#: Name of the metadata file inside ``.pt2`` and TorchScript archives.
META_FILE = "meta.json"
#: Names of the ONNX graph's input and output.
ONNX_INPUT, ONNX_OUTPUT = "video", "logits"

Runner = Callable[[torch.Tensor], torch.Tensor]


def resolve_format(path: str | Path, fmt: str | None = None) -> str:
    """The format of ``path``: ``fmt`` when given, else from its suffix, else ``pt2``.

    Raises:
        ExportError: ``fmt`` is unknown, or the suffix of ``path`` names another format.
    """
    path = Path(path)
    by_suffix = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        return by_suffix or FORMATS[0]
    if fmt not in FORMATS:
        raise ExportError(f"{path}: format {fmt!r} is not one of {list(FORMATS)}")
    if by_suffix is not None and by_suffix != fmt:
        raise ExportError(f"{path}: the suffix {path.suffix} means format {by_suffix!r}, but format {fmt!r} was "
                          f"asked for; name the file *{SUFFIX_OF[fmt]} or leave the format out")
    return fmt


def _batch_dim() -> dict[int, Any]:
    """Dynamic shape spec of the model's one input: dim 0 (batch) free, T, C, H, W fixed."""
    return {0: torch.export.Dim("batch", min=1)}


def _export_program(model: torch.nn.Module, example: torch.Tensor) -> torch.export.ExportedProgram:
    try:
        return torch.export.export(model, (example,), dynamic_shapes=(_batch_dim(),))
    except Exception as exc:  # noqa: BLE001 - torch.export raises many kinds; the user gets one line
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        raise ExportError(f"torch.export could not capture the model with a free batch size on an input of "
                          f"shape {tuple(example.shape)}: {first}") from exc


# ----------------------------------------------------------------------------------------- pt2
def write_pt2(model: torch.nn.Module, example: torch.Tensor, path: Path, meta: dict[str, Any]) -> None:
    """``torch.export.export`` (batch dimension dynamic) + ``torch.export.save``; meta in the archive."""
    ep = _export_program(model, example)
    torch.export.save(ep, path, extra_files={META_FILE: json.dumps(meta)})


def load_pt2(path: str | Path) -> tuple[Runner, dict[str, Any]]:
    """``torch.export.load(path).module()`` and the archive's meta."""
    extra = {META_FILE: ""}
    module = torch.export.load(path, extra_files=extra).module()
    return module, json.loads(extra[META_FILE] or "{}")


# ---------------------------------------------------------------------------------------- onnx
def _onnx_modules() -> tuple[Any, Any]:
    missing = []
    for name in ("onnx", "onnxscript", "onnxruntime"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ExportError(f"ONNX export needs the packages {', '.join(missing)}: pip install onnx onnxscript "
                          f"onnxruntime (or pip install -e .[dev])")
    import onnx
    import onnxruntime
    return onnx, onnxruntime


def write_onnx(model: torch.nn.Module, example: torch.Tensor, path: Path, meta: dict[str, Any]) -> None:
    """The dynamo-based ``torch.onnx.export`` (batch dimension dynamic), meta in ``metadata_props``.

    The weights are stored inside the one ``.onnx`` file (no external-data file, which would
    name the temporary file the export is written to; fine below protobuf's 2 GB limit).
    """
    onnx, _ = _onnx_modules()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on decompositions it applied
            program = torch.onnx.export(model, (example,), None, dynamo=True, dynamic_shapes=(_batch_dim(),),
                                        input_names=[ONNX_INPUT], output_names=[ONNX_OUTPUT], verbose=False,
                                        optimize=True)
    except Exception as exc:  # noqa: BLE001 - torch.onnx raises many kinds; the user gets one line
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        raise ExportError(f"torch.onnx.export (dynamo) failed on an input of shape {tuple(example.shape)}: "
                          f"{first}") from exc
    proto = program.model_proto
    onnx.helper.set_model_props(proto, {k: json.dumps(v) for k, v in meta.items()})
    onnx.save_model(proto, str(path))


def load_onnx(path: str | Path) -> tuple[Runner, dict[str, Any]]:
    """An onnxruntime CPU session (as many threads as torch uses) and the model's meta."""
    _, ort = _onnx_modules()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = torch.get_num_threads()
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {name: x.detach().cpu().numpy()})[0])

    meta = {k: json.loads(v) for k, v in session.get_modelmeta().custom_metadata_map.items()}
    return run, meta


# --------------------------------------------------------------------------------- torchscript
def write_torchscript(model: torch.nn.Module, example: torch.Tensor, path: Path, meta: dict[str, Any]) -> None:
    """``torch.jit.trace`` (B stays free: the model reads it from the input's shape) + ``torch.jit.save``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings for shape arithmetic on fixed T; jit's deprecation
        traced = torch.jit.trace(model, example, check_trace=False)
        torch.jit.save(traced, str(path), _extra_files={META_FILE: json.dumps(meta)})


def load_torchscript(path: str | Path) -> tuple[Runner, dict[str, Any]]:
    """``torch.jit.load`` on the CPU and the archive's meta."""
    extra = {META_FILE: ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    return module.eval(), json.loads(extra[META_FILE] or "{}")


#: format -> writer / reader (looked up at call time, so a test can substitute one).
WRITERS: dict[str, Callable[[torch.nn.Module, torch.Tensor, Path, dict[str, Any]], None]] = {
    "pt2": write_pt2, "onnx": write_onnx, "torchscript": write_torchscript}
READERS: dict[str, Callable[[str | Path], tuple[Runner, dict[str, Any]]]] = {
    "pt2": load_pt2, "onnx": load_onnx, "torchscript": load_torchscript}


def load_exported(path: str | Path, fmt: str | None = None) -> tuple[Runner, dict[str, Any]]:
    """Read an exported model: ``(run, meta)``; the format from ``fmt`` or the suffix of ``path``.

    Raises:
        ExportError: no such file, or the file cannot be read as that format.
    """
    path = Path(path)
    fmt = resolve_format(path, fmt)
    if not path.is_file():
        raise ExportError(f"exported model {path} does not exist")
    try:
        return READERS[fmt](path)
    except ExportError:
        raise
    except Exception as exc:  # noqa: BLE001 - every reader's refusal becomes one message
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        raise ExportError(f"{path} cannot be read as a {fmt} model: {first}") from exc
