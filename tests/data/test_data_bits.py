"""The same benchmark bytes on every x86 host: the embedded smoke benchmark against a committed digest.

The CPU-dispatch pins (:data:`mmlkit.runtime.PINNED_DISPATCH`) make torch train the same bits on
every x86 host, but only from the same data. The benchmark is made on the user's host, by numpy
(rendering), PyAV/libvpx (encoding, decoding) and OpenCV (grey conversion, optical flow, resizing),
and numpy and OpenCV choose vector kernels by the CPU too: numpy's ``X86_V3`` (AVX2) and ``X86_V4``
(AVX-512) kernels, OpenCV's ``AVX2`` and ``AVX512-SKX``. So:

* :func:`test_smoke_benchmark_matches_committed_digest` generates the ``smoke`` benchmark (seed 0,
  videos, packed frames and flow) and compares every file's sha256 with
  ``tests/data/benchmark_digest.json``, made on another host (it names which); it skips where
  numpy, OpenCV or PyAV is not the recorded version, whose output may differ legitimately.
* :func:`test_avx2_kernels_make_the_same_benchmark` makes it again in a process whose numpy and
  OpenCV may not use their AVX-512 kernels (:data:`AVX2_KERNELS`, what an AVX2 host runs) and
  compares file by file: on an AVX-512 host, every test run checks that an AVX2 host makes the
  same data.

* :func:`test_numpy_avx2_kernels_render_the_default_clips_alike` renders the first 300 clips of the
  ``default`` benchmark both ways and compares their frames. numpy's AVX-512 ``arctan2`` rounds
  otherwise than its path on AVX2 hosts, which made an AVX2 host write 160 of the 8,961 videos of
  generator version 2 otherwise; the renderer now takes ``arctan2`` from the C library
  (:func:`mmlkit.data.synthetic.drawing.atan2`).

Regenerate the committed digest (after a change to the generator or to those packages, on
purpose), from the repository root: ``python -m tests.data.test_data_bits --write``.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmlkit.runtime import AVX512_FLAGS, cpu_flags

REPO = Path(__file__).resolve().parents[2]
DIGEST_FILE = Path(__file__).with_name("benchmark_digest.json")
#: The benchmark the tests make: preset, seed.
PRESET, SEED = "smoke", 0
#: Environment that keeps numpy and OpenCV on the kernels an AVX2 host runs (both read it at import).
AVX2_KERNELS = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
                "OPENCV_CPU_DISABLE": "AVX512-SKX,AVX512-CLX"}
#: Files whose bytes say nothing about the data (a picture for people).
SKIP = ("montage.png",)


def file_digests(root: Path) -> dict[str, str]:
    """``{relative posix path: sha256 hex}`` for every file under ``root`` but :data:`SKIP`, sorted."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name not in SKIP:
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def versions() -> dict[str, str]:
    """The packages whose output the benchmark's bytes depend on."""
    import av
    import cv2
    import numpy

    return {"numpy": numpy.__version__, "opencv": cv2.__version__, "av": av.__version__}


def make(out: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """Generate the benchmark into ``out`` in a fresh interpreter (``env`` added to its environment)
    and return :func:`file_digests`.

    Raises:
        RuntimeError: the generator failed; its stderr's tail is in the message.
    """
    proc = subprocess.run([sys.executable, "-m", "mmlkit", "synth", "--preset", PRESET, "--seed", str(SEED),
                           "--out", str(out), "--no_montage", "--workers", "1"],
                          cwd=REPO, env=dict(os.environ, **(env or {})), capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"the generator exited with {proc.returncode}:\n{proc.stderr[-3000:]}")
    return file_digests(out)


def _differ(a: dict[str, str], b: dict[str, str]) -> list[str]:
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


@pytest.fixture(scope="module")
def native(tmp_path_factory) -> dict[str, str]:
    """The benchmark as this host makes it, on its own kernels."""
    return make(tmp_path_factory.mktemp("native") / "bench")


def _skip_unless_avx512() -> None:
    if not AVX512_FLAGS <= cpu_flags():
        pytest.skip("not an x86 AVX-512 host: its own kernels are already at most AVX2")


def test_smoke_benchmark_matches_committed_digest(native) -> None:
    ref = json.loads(DIGEST_FILE.read_text())
    if versions() != ref["versions"]:
        pytest.skip(f"packages {versions()} are not the recorded {ref['versions']}: other bytes are legitimate")
    bad = _differ(ref["files"], native)
    assert not bad, (f"{len(bad)} of {len(ref['files'])} files of the {PRESET} benchmark differ from "
                     f"{DIGEST_FILE.name} (made on {ref['cpu']} on {ref['date']}), e.g. {bad[:5]}: this host "
                     "makes other data, so it cannot train the committed bits. If the generator changed on "
                     "purpose, regenerate it with `python -m tests.data.test_data_bits --write`")


def test_avx2_kernels_make_the_same_benchmark(native, tmp_path) -> None:
    """On an AVX-512 host: numpy and OpenCV limited to their AVX2 kernels make the same files."""
    _skip_unless_avx512()
    probe = subprocess.run([sys.executable, "-c", "import numpy, cv2; from numpy._core._multiarray_umath import "
                            "__cpu_features__ as f; print(f['X86_V4'], cv2.getCPUFeaturesLine())"],
                           env=dict(os.environ, **AVX2_KERNELS), capture_output=True, text=True, check=True)
    assert probe.stdout.startswith("False") and "AVX512-SKX?" in probe.stdout, (
        f"the variables {AVX2_KERNELS} did not take AVX-512 from numpy and OpenCV: {probe.stdout!r}")
    bad = _differ(native, make(tmp_path / "bench", AVX2_KERNELS))
    assert not bad, f"{len(bad)} of {len(native)} files differ when numpy and OpenCV run their AVX2 kernels: {bad[:5]}"


_RENDER = """
import hashlib, json, sys
from mmlkit.data.synthetic.plan import _plan
from mmlkit.data.synthetic.presets import clip_rng, get_preset
from mmlkit.data.synthetic.render import render_clip
P = get_preset("default")
print(json.dumps({vid: hashlib.sha256(render_clip(cls, clip_rng(0, split, index), P).tobytes()).hexdigest()
                  for split, index, cls, vid in _plan(P, 0)[:int(sys.argv[1])]}))
"""
#: Clips of the default benchmark (seed 0, in the generator's order) the rendering test compares.
RENDERED = 300


def render(n: int, env: dict[str, str] | None = None) -> dict[str, str]:
    """``{video id: sha256 of its rendered uint8 frames}`` for the first ``n`` clips of the default
    benchmark, rendered (not encoded) in a fresh interpreter with ``env`` added."""
    proc = subprocess.run([sys.executable, "-c", _RENDER, str(n)], cwd=REPO, env=dict(os.environ, **(env or {})),
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"the renderer exited with {proc.returncode}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


def test_numpy_avx2_kernels_render_the_default_clips_alike() -> None:
    _skip_unless_avx512()
    own, avx2 = render(RENDERED), render(RENDERED, AVX2_KERNELS)
    bad = _differ(own, avx2)
    assert not bad, f"{len(bad)} of the first {RENDERED} default clips render otherwise on numpy's AVX2 kernels: {bad}"


if __name__ == "__main__" and "--write" in sys.argv[1:]:
    import tempfile

    from mmlkit.runtime import cpu_model

    with tempfile.TemporaryDirectory() as tmp:
        files = make(Path(tmp) / "bench")
    DIGEST_FILE.write_text(json.dumps({"preset": PRESET, "seed": SEED, "versions": versions(), "cpu": cpu_model(),
                                       "date": datetime.date.today().isoformat(), "files": files}, indent=1) + "\n")
    print(f"wrote {DIGEST_FILE} ({len(files)} files)")
