"""mmlkit.runtime: the allocator setting (the thread count and the CPU-dispatch pins are tested
where they decide bits, in tests/test_bits.py and tests/training)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from mmlkit.runtime import KEEP_FREED_MEMORY_VAR

CHILD = """
import json, mmlkit.runtime as r
before = r.allocator_environment()
first, second = r.keep_freed_memory(), r.keep_freed_memory()
print(json.dumps({"before": before, "first": first, "second": second, "after": r.allocator_environment()}))
"""


def _child(**env: str) -> dict:
    base = {k: v for k, v in os.environ.items() if k != KEEP_FREED_MEMORY_VAR}
    out = subprocess.run([sys.executable, "-c", CHILD], env=dict(base, **env), capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _glibc() -> bool:
    return platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not _glibc(), reason="glibc's malloc only")
def test_keep_freed_memory_sets_glibc_once() -> None:
    got = _child()
    assert got == {"before": "default", "first": True, "second": True, "after": "kept"}


def test_keep_freed_memory_can_be_turned_off() -> None:
    got = _child(**{KEEP_FREED_MEMORY_VAR: "0"})
    assert got == {"before": "default", "first": False, "second": False, "after": "default"}


@pytest.mark.skipif(not _glibc(), reason="glibc's malloc only")
def test_a_run_records_its_allocator(tmp_path) -> None:
    """Training turns the setting on (make_member), and the run's environment says so."""
    code = ("import json, torch; from mmlkit.config import profile; from mmlkit.training.member import make_member; "
            "from mmlkit.results.store import environment; "
            "make_member(profile('smoke', modalities=('RGB',)), 0, 'RGB', 5, torch.device('cpu')); "
            "print(json.dumps(environment()['malloc']))")
    base = {k: v for k, v in os.environ.items() if k != KEEP_FREED_MEMORY_VAR}
    out = subprocess.run([sys.executable, "-c", code], env=base, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == "kept"


def test_dispatch_pinned_needs_every_pin() -> None:
    from mmlkit.runtime import PINNED_DISPATCH, dispatch_pinned, pinned_env

    assert dispatch_pinned(pinned_env({}))
    assert not dispatch_pinned({})
    some = dict(PINNED_DISPATCH)
    some.pop("MKL_CBWR")
    assert not dispatch_pinned(some)
    assert not dispatch_pinned(dict(PINNED_DISPATCH, ATEN_CPU_CAPABILITY="avx512"))


def test_pinned_processes_default_to_their_own_store(monkeypatch) -> None:
    """Pinned and unpinned runs of one config compute other bits on an AVX-512 host: a pinned
    process's default store is another folder, so a pinned full run never reuses unpinned runs."""
    from mmlkit.results.store import REPO, default_results_dir
    from mmlkit.runtime import PINNED_DISPATCH

    for k in PINNED_DISPATCH:
        monkeypatch.delenv(k, raising=False)
    assert default_results_dir("default") == REPO / "results" / "default"
    for k, v in PINNED_DISPATCH.items():
        monkeypatch.setenv(k, v)
    assert default_results_dir("default") == REPO / "results" / "default-pinned"


def _kernels_here(tmp_path, monkeypatch):
    """Install mmlkit's kernels under ``tmp_path`` and make Jupyter look there first."""
    from mmlkit.runtime import install_kernels

    where = install_kernels(prefix=str(tmp_path))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "share" / "jupyter"))
    return where


def test_the_notebooks_kernel_carries_the_pins_and_the_other_does_not(tmp_path, monkeypatch) -> None:
    """The notebooks' kernel (their metadata names ``mmlkit``) starts every notebook pinned, in
    JupyterLab and papermill alike; ``mmlkit-unpinned`` leaves the launching environment as it is."""
    from mmlkit.runtime import KERNEL, KERNEL_UNPINNED, PINNED_DISPATCH, notebook_kernel

    where = _kernels_here(tmp_path, monkeypatch)
    pinned = json.loads((tmp_path / "share/jupyter/kernels/mmlkit/kernel.json").read_text())
    unpinned = json.loads((tmp_path / "share/jupyter/kernels/mmlkit-unpinned/kernel.json").read_text())
    assert set(where) == {KERNEL, KERNEL_UNPINNED}
    assert pinned["env"] == PINNED_DISPATCH and pinned["argv"][0] == sys.executable
    assert "env" not in unpinned and unpinned["argv"] == pinned["argv"]
    assert notebook_kernel(pinned=True) == KERNEL
    assert notebook_kernel(pinned=False) == KERNEL_UNPINNED
    for k, v in PINNED_DISPATCH.items():  # default: this process's own dispatch
        monkeypatch.setenv(k, v)
    assert notebook_kernel() == KERNEL
    monkeypatch.delenv("MKL_CBWR")
    assert notebook_kernel() == KERNEL_UNPINNED


def test_a_kernel_that_does_not_run_what_its_name_says_is_refused(tmp_path, monkeypatch) -> None:
    """A ``mmlkit`` kernel installed before the pins were its default would run the notebooks
    unpinned beside a pinned ``./run_all.sh`` (another store, other bits): refused, with the fix."""
    from mmlkit.config import ConfigError
    from mmlkit.runtime import notebook_kernel

    _kernels_here(tmp_path, monkeypatch)
    spec = tmp_path / "share/jupyter/kernels/mmlkit/kernel.json"
    old = json.loads(spec.read_text())
    del old["env"]
    spec.write_text(json.dumps(old))
    with pytest.raises(ConfigError, match=r"kernel 'mmlkit' \(.*kernel\.json\).*python -m mmlkit kernels"):
        notebook_kernel(pinned=True)
    spec = tmp_path / "share/jupyter/kernels/mmlkit-unpinned/kernel.json"
    spec.write_text(json.dumps(dict(old, env={"ATEN_CPU_CAPABILITY": "avx2"})))  # half pinned
    with pytest.raises(ConfigError, match="mmlkit-unpinned"):
        notebook_kernel(pinned=False)


def test_a_missing_kernel_names_the_command_that_installs_it(tmp_path, monkeypatch) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    from mmlkit.config import ConfigError
    from mmlkit.runtime import notebook_kernel

    monkeypatch.setattr(KernelSpecManager, "kernel_dirs", property(lambda self: [str(tmp_path)]))
    with pytest.raises(ConfigError, match="no Jupyter kernel named 'mmlkit-unpinned'.*python -m mmlkit kernels"):
        notebook_kernel(pinned=False)


def test_cpu_model_and_flags_come_from_the_first_processor(tmp_path, monkeypatch):
    """Both read the first processor's block of /proc/cpuinfo; without one, the model is the
    platform's word and there are no flags."""
    from pathlib import Path

    from mmlkit import runtime

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512f\n\n"
                    "processor\t: 1\ncpu family\t: 99\nmodel\t\t: 1\nmodel name\t: other\nflags\t\t: fpu\n")
    real = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: real(info if str(self) == "/proc/cpuinfo" else self, *a, **k))
    assert runtime.cpu_model() == "AMD EPYC (family 25 model 17)"
    assert runtime.cpu_flags() == {"fpu", "avx2", "avx512f"}
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: (_ for _ in ()).throw(FileNotFoundError(str(self))))
    assert runtime.cpu_flags() == frozenset()
    assert runtime.cpu_model()  # platform.processor() or "unknown"
