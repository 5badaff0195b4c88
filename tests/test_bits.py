"""The same bits on every x86 host: a short training run's final weights against a committed digest.

A subprocess launched with :func:`mmlkit.runtime.pinned_env` (so the CPU-dispatch pins are in
its environment before it imports torch) trains the default profile's network for
:data:`STEPS` SGD steps on fixed synthetic tensors and prints the sha256 of its final
``state_dict``; :func:`test_final_weights_match_committed_digest` compares it with
``tests/bits_digest.json``, which also says on which host, torch and ATen capability the
committed digest was produced. So every CI run, on whatever x86-64 host, says whether the bits
still match. Another torch computes other bits legitimately: the test skips when torch's version
is not the recorded one, as it does on hosts that are not x86-64 (the pins are x86 settings).

The run exercises the code paths that decide the bits: :func:`mmlkit.training.member.make_member`
(the TSN ``resnet_tiny`` of the default profile with temporal shift, channels-last, dropout 0.5,
SGD with momentum 0.9 and weight decay 5e-4 in TSM's parameter groups) and
:func:`mmlkit.training.loop.train_one_epoch` (forward, cross-entropy, backward, step), on RGB
input shaped like the default profile's (batch 8, 8 segments, 3 x 32 x 32) drawn from
``torch.Generator().manual_seed(0)``, with 2 torch threads. No video data is read or generated.

Regenerate the committed digest (after a change to the model, the training step, the default
profile or torch, on purpose), from the repository root::

    python -m tests.test_bits --write
    MMLKIT_WRITE_BITS=1 pytest tests/test_bits.py     # the same, from the test

``python -m tests.test_bits`` alone prints the pinned run's record; ``--unpinned`` prints the
record of the same run without the pins (this host's own dispatch). ``pytest tests/test_bits.py
-rP`` shows the report of :func:`test_unpinned_bits_report` (``slow``: a second run): whether, on
an AVX-512 host, the unpinned run computes other bits than the pinned one.
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mmlkit.runtime import AVX512_FLAGS, PINNED_DISPATCH, cpu_flags, pinned_env

REPO = Path(__file__).resolve().parents[1]
DIGEST_FILE = Path(__file__).with_name("bits_digest.json")
WRITE_VAR = "MMLKIT_WRITE_BITS"

#: The run: SGD steps, clips per step, segments per clip, input side (pixels), classes, threads.
STEPS, BATCH, SEGMENTS, SIZE, NUM_CLASSES, THREADS = 20, 8, 8, 32, 29, 2


# -- the run (executed in the subprocess) ---------------------------------------------------------

def train_digest() -> dict[str, Any]:
    """Train the short run in this process and describe its final weights.

    Returns:
        ``digest`` (sha256 hex of the final ``state_dict``: each tensor's
        ``detach().contiguous().numpy().tobytes()``, in key order), ``torch``, ``cpu``
        (:func:`mmlkit.runtime.cpu_model`), ``cpu_capability`` (ATen's), ``dispatch``
        (:func:`mmlkit.runtime.dispatch_environment`), ``config`` (the RunConfig's digest),
        ``ce`` (the steps' mean cross-entropy) and the run's sizes.

    Raises:
        FloatingPointError: a final weight is not finite (the run diverged; its digest would
            prove nothing).
    """
    import torch

    from mmlkit.config import profile
    from mmlkit.runtime import cpu_model
    from mmlkit.runtime import allocator_environment, dispatch_environment, torch_threads
    from mmlkit.training.cohort import LocalComm
    from mmlkit.training.loop import train_one_epoch
    from mmlkit.models import weights_digest
    from mmlkit.training.member import make_member

    cfg = profile("default", optim={"batch_size": BATCH, "epochs": 1},
                  data={"num_segments": SEGMENTS, "input_size": SIZE, "scale_size": SIZE}, threads=THREADS)
    device = torch.device("cpu")
    g = torch.Generator().manual_seed(0)
    batches = [{"inputs": {"RGB": torch.randn(BATCH, SEGMENTS, 3, SIZE, SIZE, generator=g)},
                "label": torch.randint(0, NUM_CLASSES, (BATCH,), generator=g)} for _ in range(STEPS)]
    with torch_threads(cfg.threads):
        member = make_member(cfg, 0, "RGB", NUM_CLASSES, device)
        (stats,) = train_one_epoch([member], batches, LocalComm(), cfg, 0, device, progress=False)
        sd = member.model.state_dict()
    bad = [k for k, t in sd.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if bad:
        raise FloatingPointError(f"the bits run diverged: {bad[:3]} hold non-finite values after {STEPS} steps")
    return {"digest": weights_digest(sd), "torch": torch.__version__, "cpu": cpu_model(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "dispatch": dispatch_environment(),
            "malloc": allocator_environment(),
            "config": cfg.digest(), "ce": stats["ce"], "steps": STEPS, "batch": BATCH, "segments": SEGMENTS,
            "size": SIZE, "classes": NUM_CLASSES, "threads": THREADS}


def unpinned_env() -> dict[str, str]:
    """``os.environ`` without any of the pinned variables: the host's own dispatch."""
    return {k: v for k, v in os.environ.items() if k not in PINNED_DISPATCH}


def run_digest(pinned: bool = True, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """:func:`train_digest` in a fresh interpreter (pinned: with :func:`pinned_env`; ``extra_env``
    added to its environment).

    Raises:
        RuntimeError: the subprocess failed; its stderr's tail is in the message.
    """
    env = dict(pinned_env() if pinned else unpinned_env(), **(extra_env or {}))
    proc = subprocess.run([sys.executable, "-m", "tests.test_bits", "--child"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"the bits subprocess ({'pinned' if pinned else 'unpinned'}) exited with "
                           f"{proc.returncode}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_digest(result: dict[str, Any]) -> Path:
    """Write a pinned run's record to :data:`DIGEST_FILE`, with the pins and today's date (UTC)."""
    from mmlkit.fileio import write_json

    record = dict(result, pins=dict(PINNED_DISPATCH), machine=platform.machine(),
                  date=datetime.datetime.now(datetime.timezone.utc).date().isoformat())
    return write_json(DIGEST_FILE, record)


def read_digest() -> dict[str, Any]:
    """The committed record (:data:`DIGEST_FILE`)."""
    if not DIGEST_FILE.is_file():
        raise FileNotFoundError(f"{DIGEST_FILE} is missing: make it with `python -m tests.test_bits --write` "
                                "(repository root) and commit it")
    return json.loads(DIGEST_FILE.read_text())


# -- the tests ------------------------------------------------------------------------------------

PROBE = """
import torch
x = torch.ones(2, 16, 8, 8).to(memory_format=torch.channels_last)
torch.nn.functional.conv2d(x, torch.ones(16, 16, 3, 3).to(memory_format=torch.channels_last))  # oneDNN
torch.mm(torch.ones(8, 8), torch.ones(8, 8))                                                    # MKL
print("ATEN", torch.backends.cpu.get_cpu_capability(), "MKL", torch.backends.mkl.is_available())
"""


def _probe(env: dict[str, str]) -> dict[str, str | None]:
    """What a fresh interpreter with ``env`` dispatches to after one convolution and one matrix
    product: ``aten`` (ATen's capability), ``onednn`` (oneDNN's ISA line, ``ONEDNN_VERBOSE``),
    ``mkl`` (MKL's ``CNR:`` mode, ``MKL_VERBOSE``; None when torch has no MKL)."""
    env = dict(env, ONEDNN_VERBOSE="1", MKL_VERBOSE="1")
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120,
                         check=True).stdout
    last = out.strip().splitlines()[-1].split()
    isa = [line.split(",isa:", 1)[1].strip() for line in out.splitlines() if ",isa:" in line]
    cnr = [word for line in out.splitlines() if line.startswith("MKL_VERBOSE") for word in line.split()
           if word.startswith("CNR:")]
    mkl = (cnr[0][4:] if cnr else "") if last[3] == "True" else None
    return {"aten": last[1], "onednn": isa[0] if isa else "", "mkl": mkl}


x86_only = pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                              reason=f"the pins and the committed digest are for x86-64 hosts; this is "
                                     f"{platform.machine()}")


@functools.cache
def pinned_run() -> dict[str, Any]:
    """The pinned run's record, made once per test session."""
    return run_digest(pinned=True)


@x86_only
def test_final_weights_match_committed_digest() -> None:
    import torch

    if os.environ.get(WRITE_VAR) == "1":
        print(f"{WRITE_VAR}=1: wrote {write_digest(pinned_run())} (digest {pinned_run()['digest']})")
        return
    ref = read_digest()
    if ref["torch"] != torch.__version__:
        pytest.skip(f"{DIGEST_FILE.name} was made with torch {ref['torch']}, this is torch {torch.__version__}: "
                    "another torch legitimately computes other bits; regenerate with `python -m tests.test_bits "
                    "--write` when this torch is the project's")
    run = pinned_run()
    seen = {k: run["dispatch"].get(k) for k in PINNED_DISPATCH}
    assert seen == PINNED_DISPATCH, f"the subprocess did not run with the pins {PINNED_DISPATCH}: {seen}"
    for what, now, then in (("pins", PINNED_DISPATCH, ref["pins"]), ("config", run["config"], ref["config"])):
        if now != then:
            pytest.fail(f"the bits run's {what} changed ({then} -> {now}; mmlkit.runtime.PINNED_DISPATCH or the "
                        f"default profile was edited?): regenerate {DIGEST_FILE.name} with `python -m "
                        "tests.test_bits --write` and commit it")
    assert run["digest"] == ref["digest"], (
        f"final weights differ from the committed ones: this host computed {run['digest']} on "
        f"{run['cpu']} (ATen capability {run['cpu_capability']}); {DIGEST_FILE.name} holds "
        f"{ref['digest']}, made on {ref['cpu']} (ATen capability {ref['cpu_capability']}) on {ref['date']}. "
        "If this change edited the model, the training step or the default profile on purpose, regenerate "
        "it with `python -m tests.test_bits --write`; otherwise the pins do not make this host compute the "
        "same bits as that one.")


@x86_only
@pytest.mark.slow
def test_kept_freed_memory_changes_no_bits() -> None:
    """Training keeps freed memory for reuse (:func:`mmlkit.runtime.keep_freed_memory`, glibc):
    faster steps, and the same final weights as with glibc's ``malloc`` as it comes."""
    from mmlkit.runtime import KEEP_FREED_MEMORY_VAR

    kept = pinned_run()
    if kept["malloc"] != "kept":
        pytest.skip(f"this C library is not glibc: malloc {kept['malloc']!r}, nothing to compare")
    plain = run_digest(pinned=True, extra_env={KEEP_FREED_MEMORY_VAR: "0"})
    assert plain["malloc"] == "default", plain["malloc"]
    assert kept["digest"] == plain["digest"], (
        f"keeping freed memory changed the final weights ({plain['digest']} -> {kept['digest']}): the "
        "allocator must only change where tensors live, never what is computed")


@x86_only
def test_pins_reach_the_subprocess() -> None:
    if "avx2" not in cpu_flags():
        pytest.skip("this x86 host has no AVX2: the pins cannot select AVX2 kernels here")
    seen = _probe(pinned_env())
    assert seen["aten"] == "AVX2", f"ATen dispatches to {seen['aten']!r} under the pins {PINNED_DISPATCH}"
    assert seen["onednn"] == "Intel AVX2", f"oneDNN's ISA under the pins: {seen['onednn']!r}"
    assert seen["mkl"] in (None, PINNED_DISPATCH["MKL_CBWR"]), (
        f"MKL runs CNR:{seen['mkl']} under MKL_CBWR={PINNED_DISPATCH['MKL_CBWR']} (it ignores a branch this "
        "CPU's vendor has no code path for: AMD hosts accept only COMPATIBLE)")


def _avx512_host() -> None:
    missing = sorted(AVX512_FLAGS - cpu_flags())
    if missing:
        pytest.skip(f"not an AVX-512 host (no {', '.join(missing)} in /proc/cpuinfo)")


@x86_only
def test_unpinned_dispatches_avx512() -> None:
    """On an AVX-512 host the same interpreter without the pins runs AVX-512 kernels: the pinned
    digest test compares the AVX2 path with the committed one, not this host's default.

    oneDNN names its ISA by what the CPU has beyond AVX-512 too: "Intel AVX-512 with ..." on the AMD
    EPYC hosts, "Intel AVX10.1 and Intel AMX with bfloat16 and 8-bit integer support" on an Intel
    Xeon with AMX (family 6 model 167)."""
    _avx512_host()
    seen = _probe(unpinned_env())
    assert seen["aten"] == "AVX512", seen
    assert any(isa in seen["onednn"] for isa in ("AVX-512", "AVX10", "AMX")), seen


@x86_only
@pytest.mark.slow
def test_unpinned_bits_report() -> None:
    """Reports (asserts nothing about bits) whether this AVX-512 host's own dispatch computes
    other final weights than the pinned run; ``-rP`` shows the line."""
    _avx512_host()
    free = run_digest(pinned=False)
    assert free["cpu_capability"] == "AVX512"
    same = free["digest"] == pinned_run()["digest"]
    print(f"on {free['cpu']}: pinned (AVX2) digest {pinned_run()['digest']}, unpinned (AVX512) digest "
          f"{free['digest']}: {'the same bits' if same else 'other bits'}")


if __name__ == "__main__":
    if "--child" in sys.argv[1:]:
        print(json.dumps(train_digest()))
    elif "--write" in sys.argv[1:]:
        print(f"wrote {write_digest(run_digest(pinned=True))}")
    else:
        print(json.dumps(run_digest(pinned="--unpinned" not in sys.argv[1:]), indent=2))
