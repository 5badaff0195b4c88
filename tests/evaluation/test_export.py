import pytest
import torch

from mmlkit.evaluation.export import ExportError, check_export, example_input, export_torchscript, load_exported


def test_torchscript_round_trip(tmp_path, tiny_net, make_batches):
    torch.manual_seed(0)
    model = tiny_net(num_segments=4)
    x = example_input(4, 3, 16, batch=2)
    p = export_torchscript(model, x, tmp_path / "m.ts")
    assert check_export(model, p, x) <= 1e-4
    # another batch size works with the traced model
    x3 = example_input(4, 3, 16, batch=3, seed=1)
    assert check_export(model, p, x3) <= 1e-4
    mod, meta = load_exported(p)
    assert meta["modality"] == "RGB"


def test_check_export_detects_difference(tmp_path, tiny_net, make_batches):
    model = tiny_net()
    x = example_input(4, 3, 16)
    p = export_torchscript(model, x, tmp_path / "m.ts")
    with torch.no_grad():
        model.fc.bias += 1.0
    with pytest.raises(ExportError, match="differ"):
        check_export(model, p, x)


def test_real_tsn_export(tmp_path, tiny_net, make_batches):
    models = pytest.importorskip("mmlkit.models")
    if not hasattr(models, "TSN"):
        pytest.skip("mmlkit.models.TSN not there yet")
    model = models.TSN(5, 4, "RGB", arch="resnet_tiny", dropout=0.0)
    x = example_input(4, 3, 32, batch=2)
    assert check_export(model, export_torchscript(model, x, tmp_path / "tsn.ts"), x) <= 1e-4
