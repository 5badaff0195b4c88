"""Export the single trained model for inference (the point of MML: one RGB model at test time).

Formats (``python -m mmlkit export --format``; by default from the ``--out`` suffix, else pt2):

* ``pt2`` (``.pt2``, the default): ``torch.export.export`` + ``torch.export.save``. Load with
  ``torch.export.load(path).module()`` -- torch and nothing else, no mmlkit, no model code.
* ``onnx`` (``.onnx``): the dynamo-based ``torch.onnx.export(..., dynamo=True)`` (needs
  ``onnxscript``), weights inside the one file; runs in onnxruntime from Python, C, C++, C#,
  Java or JavaScript, and in TensorRT / OpenVINO, without PyTorch.
* ``torchscript`` (``.ts``): ``torch.jit.trace``, deprecated by PyTorch. Kept for one user:
  a C++ program linked against libtorch alone, which ``torch::jit::load``s the file without a
  Python interpreter and without adding onnxruntime. ``.pt2`` does not serve that user: running
  it from C++ means compiling it ahead of time with AOTInductor, a C++ toolchain at export
  time and one artifact per device. Prefer ``onnx`` for any new C++ deployment.

All three map float32 (B, T, C, H, W) -> logits (B, K) for the T, C, H, W they were exported
with and any batch size B >= 1, and carry the same metadata (:func:`deployment_meta`): modality,
segments, input size, channels, the normalisation mean/std the data layer applies
(:func:`mmlkit.data.transforms.input_normalization`), the test view's sampling and crop, class
count and, when given, class names. Every export is checked against the model before the file
is kept (:mod:`mmlkit.evaluation.export.core`, which also states the tolerance and why).
"""

from mmlkit.errors import ExportError
from mmlkit.evaluation.export.core import (ATOL, CHECK_BATCHES, RTOL, check_export, deployment_meta, example_input,
                                           export_checkpoint, export_model, tolerance)
from mmlkit.evaluation.export.formats import FORMATS, SUFFIXES, load_exported, resolve_format

__all__ = [
    "ExportError", "ATOL", "CHECK_BATCHES", "RTOL", "check_export", "deployment_meta", "example_input",
    "export_checkpoint", "export_model", "tolerance", "FORMATS", "SUFFIXES", "load_exported", "resolve_format",
]
