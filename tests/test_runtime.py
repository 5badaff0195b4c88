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
