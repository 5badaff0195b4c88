"""A refused file gets one plain reason, never torch's advice to load it with weights_only=False."""

from __future__ import annotations

import os

import pytest
import torch

from mmlkit.errors import CheckpointError
from mmlkit.models.safe_load import safe_load


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def _files(tmp_path):
    ok = tmp_path / "ok.pt"
    torch.save({"w": torch.zeros(3)}, ok)
    code = tmp_path / "code.pt"
    torch.save({"w": _RunsCode()}, code)
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint")
    cut = tmp_path / "cut.pt"
    cut.write_bytes(ok.read_bytes()[: ok.stat().st_size // 2])
    lines = tmp_path / "passwd.pt"  # a text file whose first byte the unpickler reads as an opcode
    lines.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    return ok, code, text, cut, lines


def test_plain_file_loads_and_refusals_say_why_without_the_wrong_advice(tmp_path, capfd):
    ok, code, text, cut, lines = _files(tmp_path)
    assert torch.equal(safe_load(ok)["w"], torch.zeros(3))
    for path, reason in ((code, r"holds Python objects or code \(posix.system\)"),
                         (text, "not a PyTorch checkpoint file"), (cut, "not a PyTorch checkpoint file"),
                         (lines, "not a PyTorch checkpoint file"),
                         (tmp_path / "missing.pt", "does not exist")):
        with pytest.raises(CheckpointError, match=reason) as e:
            safe_load(path, "checkpoint")
        msg = str(e.value)
        assert str(path) in msg and "weights_only" not in msg and "\n" not in msg
    assert "must never run" not in capfd.readouterr().out


def test_every_loader_of_the_package_goes_through_safe_load():
    import pathlib
    import re

    import mmlkit

    root = pathlib.Path(mmlkit.__file__).parent
    direct = [f"{p.relative_to(root)}:{i}" for p in root.rglob("*.py") if p.name != "safe_load.py"
              for i, line in enumerate(p.read_text().splitlines(), 1)
              if re.search(r"torch\.load\(", line) and not line.lstrip().startswith(("#", "the keys", "``"))
              and "read with" not in line]
    assert direct == []
