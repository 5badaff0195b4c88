"""The process's resources as part of a run's configuration: the torch thread count, the device,
the CPU code paths.

Float sums (convolutions, matrix products) are split across threads, so the same run computes
slightly different weights with 1 and with 2 threads. Configs that fix ``threads`` therefore
set it for the duration of their work with :func:`torch_threads`. :func:`check_device` refuses a
device this machine does not have before any work starts. The vector instructions a host has
change the bits too (AVX-512 kernels sum in other orders than AVX2 ones): :data:`PINNED_DISPATCH`
pins every x86-64 host to the AVX2 paths, :func:`pinned_env` launches a process with it and
:func:`dispatch_environment` records what a process runs with; the notebooks' Jupyter kernel
(:data:`KERNEL`) carries the pins, :data:`KERNEL_UNPINNED` does not. :func:`keep_freed_memory` makes
glibc's ``malloc`` keep the memory torch frees for the next step instead of handing it back to the
kernel (the same bits, faster steps).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator, Mapping, MutableMapping


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the body with ``torch.set_num_threads(n)``; restore the previous count afterwards.

    ``n=None`` leaves torch's choice untouched.
    """
    import torch

    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def check_device(device: str) -> None:
    """Raise :class:`~mmlkit.config.ConfigError` when ``device`` (``cpu``, ``cuda``, ``cuda:N``) is
    not on this machine, with the flag that fixes it."""
    from mmlkit.config import ConfigError

    if not str(device).startswith("cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(f"device={device!r}, but this machine has no CUDA device (torch.cuda.is_available() is "
                          "False); use --device cpu (device='cpu')")
    index = str(device).partition(":")[2]
    if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
        raise ConfigError(f"device={device!r}, but this machine has {torch.cuda.device_count()} CUDA device(s) "
                          f"(cuda:0 .. cuda:{torch.cuda.device_count() - 1})")


#: Environment variables that make every x86-64 host run the same CPU code paths (AVX2), so that
#: an AVX2 and an AVX-512 host compute the same float operations in the same order. Each is read
#: once, lazily, by its library, and is ignored after that (verified in subprocesses with torch
#: 2.14.1, oneMKL 2024 and oneDNN 3.12 on an AVX-512 host; see below), so it must be in the
#: environment before the process's first tensor operation; the safe rule is before ``import
#: torch``. Launch work through :func:`pinned_env` rather than setting them from inside a running
#: process. ``tests/test_bits.py`` checks on every run that each one reaches a launched process.
#:
#: * ``ATEN_CPU_CAPABILITY=avx2`` -- ATen's own vectorised kernels (elementwise ops, reductions,
#:   BatchNorm, pooling, the optimizer's updates, Sleef maths): the ``DispatchStub`` ISA,
#:   ``default`` | ``avx2`` | ``avx512``. Lower case only: ``AVX2`` is ignored with a warning.
#:   Read at the first dispatched kernel, not at import: set after ``import torch`` but before
#:   any tensor op it still works (``torch.backends.cpu.get_cpu_capability()`` says ``AVX2``);
#:   set after one op, it is ignored (``AVX512`` on an AVX-512 host). torch.compile's vector ISA
#:   follows it too (mmlkit compiles nothing).
#: * ``ONEDNN_MAX_CPU_ISA=AVX2`` -- oneDNN (torch's ``mkldnn``), which runs every float32
#:   convolution here (channels-last and contiguous alike; ``torch._C._select_conv_backend``
#:   says ``Mkldnn``), forward and backward: its JIT kernels may use at most AVX2 (no AVX-512,
#:   no AMX). Read at the first oneDNN primitive; ``ONEDNN_VERBOSE=1`` shows ``isa:Intel AVX2``
#:   and kernels such as ``brg_conv_fwd:avx2`` instead of ``:avx512_core``; set after the first
#:   convolution it is ignored. ``DNNL_MAX_CPU_ISA`` is oneDNN's older name for the same setting
#:   (verified to work alone), set too for builds that read only that one.
#: * ``MKL_CBWR=COMPATIBLE`` -- MKL's conditional numerical reproducibility, for what torch hands
#:   to MKL (float32 GEMMs: the linear head, forward and backward). The ISA branches (``AVX2``,
#:   ``AVX512``, ...) are Intel-CPU code paths: on an AMD host MKL reports ``CNR:AUTO`` for
#:   every one of them (``MKL_VERBOSE=1``) and computes the bits it computes unset (as it does
#:   for ``MKL_ENABLE_INSTRUCTIONS``), so only ``COMPATIBLE`` (SSE2 without approximate
#:   reciprocals; Intel's documented branch for "Intel and compatible" processors) names one
#:   code path on every x86 host; there it does change the GEMM bits (``CNR:COMPATIBLE``).
#:   Read at MKL's first call; ignored after it. MKL's guarantee also needs a fixed thread
#:   count (the run's ``threads``).
#:
#: What these cannot pin: kernel choices that follow cache sizes or core counts rather than the
#: ISA (oneDNN's blocking), and torch's own version; the committed weight digest of
#: ``tests/test_bits.py`` is what says whether two hosts really agree.
PINNED_DISPATCH: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "DNNL_MAX_CPU_ISA": "AVX2",
    "MKL_CBWR": "COMPATIBLE",
}


def _cpuinfo() -> dict[str, str] | None:
    """The first processor's fields of ``/proc/cpuinfo`` (None where there is none: not Linux)."""
    from pathlib import Path

    try:
        block = Path("/proc/cpuinfo").read_text().split("\n\n", 1)[0]
    except OSError:
        return None
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in block.splitlines() if ":" in line)}


def cpu_model() -> str:
    """The CPU's model name and x86 family and model (``/proc/cpuinfo``): ``<model name> (family F
    model M)``; hosts of one machine type differ in these, and so in speed and vector instructions."""
    info = _cpuinfo()
    if info is None:
        import platform

        return platform.processor() or "unknown"
    return f"{info.get('model name', 'unknown')} (family {info.get('cpu family', '?')} model {info.get('model', '?')})"


#: ``/proc/cpuinfo`` flags of an AVX-512 host as ATen and numpy count one: both need all four before
#: they run their AVX-512 kernels (ATen's ``AVX512`` capability, numpy's ``X86_V4``).
AVX512_FLAGS = frozenset({"avx512f", "avx512bw", "avx512vl", "avx512dq"})


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as ``/proc/cpuinfo`` lists them (``avx2``, ``avx512f``, ...); empty
    where there is no ``/proc/cpuinfo``."""
    return frozenset((_cpuinfo() or {}).get("flags", "").split())


def dispatch_environment() -> dict[str, str | None]:
    """The CPU-dispatch settings of this process, for a run's record.

    Returns:
        ``{name: value or None}`` for each variable of :data:`PINNED_DISPATCH` as this process's
        environment has it (``None``: unset), plus ``cpu_capability``: what ATen really
        dispatches to (``torch.backends.cpu.get_cpu_capability()``: ``DEFAULT`` | ``AVX2`` |
        ``AVX512``). Calling it fixes ATen's choice for the rest of the process (see
        :data:`PINNED_DISPATCH`), so call it after the environment is set.
    """
    import torch

    out: dict[str, str | None] = {name: os.environ.get(name) for name in PINNED_DISPATCH}
    out["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return out


def dispatch_pinned(env: Mapping[str, str] | None = None) -> bool:
    """True when ``env`` (default ``os.environ``) holds every variable of :data:`PINNED_DISPATCH`
    with its pinned value (a process started by ``./run_all.sh --pin-dispatch`` or
    :func:`pinned_env`)."""
    env = os.environ if env is None else env
    return all(env.get(k) == v for k, v in PINNED_DISPATCH.items())


def code_paths() -> str:
    """The CPU code paths this process's floats come from, for a run's resume state: ``pinned``
    (:data:`PINNED_DISPATCH`: the same bits on every x86 host), else ``unpinned <ATen capability>``
    (``unpinned AVX512``: this host type's own bits). Calling it fixes ATen's choice, as
    :func:`dispatch_environment` does."""
    if dispatch_pinned():
        return "pinned"
    import torch

    return f"unpinned {torch.backends.cpu.get_cpu_capability()}"


def apply_dispatch(pinned: bool, env: MutableMapping[str, str] | None = None) -> None:
    """Set :data:`PINNED_DISPATCH` in ``env`` (default ``os.environ``), or remove it (``pinned=False``).

    For a program's entry point (``python -m mmlkit train``): it works only before the process's
    first tensor operation (see :data:`PINNED_DISPATCH`); ``torch.backends.cpu.get_cpu_capability()``
    says after whether ATen took it (``AVX2`` on an AVX-512 host).
    """
    env = os.environ if env is None else env
    for name, value in PINNED_DISPATCH.items():
        if pinned:
            env[name] = value
        else:
            env.pop(name, None)


def pinned_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``) with :data:`PINNED_DISPATCH` set, for the
    ``env=`` of a subprocess (papermill kernels, tests) whose torch is not imported yet.

    >>> pinned_env({"PATH": "/bin"})["ATEN_CPU_CAPABILITY"]
    'avx2'
    """
    env = dict(os.environ if base is None else base)
    env.update(PINNED_DISPATCH)
    return env



# -- Jupyter kernels ---------------------------------------------------------------------------

#: The notebooks' kernel (their metadata names it): this environment's Python with
#: :data:`PINNED_DISPATCH` in its kernel spec's ``env``, so that JupyterLab, ``papermill`` and
#: nbval run every notebook on the pinned code paths, as ``./run_all.sh`` does by default.
KERNEL = "mmlkit"
#: The same Python without the pins, on the code paths of the launching environment (the host's
#: own unless that environment sets them): ``./run_all.sh --unpinned``. On an AVX-512 host it
#: trains faster, and other bits.
KERNEL_UNPINNED = "mmlkit-unpinned"


def install_kernels(prefix: str | None = None, user: bool = False) -> dict[str, str]:
    """Install :data:`KERNEL` and :data:`KERNEL_UNPINNED` for this Python (``python -m mmlkit
    kernels``; ``./run_all.sh`` does it in ``.venv``). An installed kernel of the same name is
    replaced.

    Args:
        prefix: install under ``PREFIX/share/jupyter/kernels``; default: this Python's
            environment (``sys.prefix``, where JupyterLab and papermill of the same environment look).
        user: install for this user (``~/.local/share/jupyter/kernels``) instead.

    Returns:
        ``{kernel name: folder of its kernel.json}``.
    """
    import sys

    from ipykernel.kernelspec import install

    if prefix is None and not user:
        prefix = sys.prefix
    return {KERNEL: install(kernel_name=KERNEL, display_name="mmlkit", prefix=prefix, user=user,
                            env=dict(PINNED_DISPATCH)),
            KERNEL_UNPINNED: install(kernel_name=KERNEL_UNPINNED, display_name="mmlkit (unpinned CPU dispatch)",
                                     prefix=prefix, user=user)}


def notebook_kernel(pinned: bool | None = None) -> str:
    """The kernel that runs notebooks on the same code paths as this process.

    Args:
        pinned: whether the notebooks should run pinned; default :func:`dispatch_pinned`, so a
            pinned ``./run_all.sh`` and its notebooks read and write one store.

    Returns:
        :data:`KERNEL` or :data:`KERNEL_UNPINNED`.

    Raises:
        ConfigError: the kernel is not installed, or its spec does not set what its name says
            (a :data:`KERNEL` installed before the pins were its default); the message names the
            kernel.json and the command that fixes it.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    from mmlkit.config import ConfigError

    pinned = dispatch_pinned() if pinned is None else pinned
    name = KERNEL if pinned else KERNEL_UNPINNED
    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        raise ConfigError(f"no Jupyter kernel named {name!r} for this Python; install mmlkit's kernels with "
                          "`python -m mmlkit kernels` (./run_all.sh does it in .venv)") from None
    env = spec.env or {}
    if not (dispatch_pinned(env) if pinned else not any(k in env for k in PINNED_DISPATCH)):
        raise ConfigError(f"the Jupyter kernel {name!r} ({spec.resource_dir}/kernel.json) has env {env}, not "
                          f"{'the pins of mmlkit.runtime.PINNED_DISPATCH' if pinned else 'an env without the pins'}; "
                          "reinstall mmlkit's kernels with `python -m mmlkit kernels`")
    return name

# -- the allocator ---------------------------------------------------------------------------

#: Set to ``0`` to leave glibc's ``malloc`` as it is (:func:`keep_freed_memory` then does nothing).
KEEP_FREED_MEMORY_VAR = "MMLKIT_KEEP_FREED_MEMORY"
#: mallopt parameters (glibc's ``malloc.h``): ``M_TRIM_THRESHOLD``, ``M_MMAP_MAX``.
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_KEPT: bool | None = None


def keep_freed_memory() -> bool:
    """Make glibc's ``malloc`` keep freed memory in the process for reuse (idempotent).

    By default glibc serves every allocation of 32 MiB or more (and, until its threshold has
    adapted, of 128 KiB or more) with a fresh ``mmap``, returns it with ``munmap`` when torch
    frees the tensor, and trims the heap's top back to the kernel. A training step allocates and
    frees its activations and gradients anew each time, so every step paid the kernel's page
    faults and zeroing for them again. With ``mmap`` off (``M_MMAP_MAX=0``) and no trimming
    below 2 GiB of free heap (``M_TRIM_THRESHOLD``) the freed memory stays in the heap and the
    next step reuses it. It changes where tensors live, never what is computed: the same bits
    (``tests/test_bits.py`` trains with and without it; torch aligns every block to 64 bytes
    either way). Its speed: ``python -m benchmarks --only allocator`` and docs/measurements.md.

    The cost: the process's resident memory stays at its peak until it exits, where it used to
    shrink between steps. Called at the start of training and scoring; ``MMLKIT_KEEP_FREED_MEMORY=0``
    turns it off. Other C libraries (macOS, musl): nothing is changed.

    Returns:
        True when glibc's parameters are set (now or by an earlier call).
    """
    global _KEPT
    if _KEPT is not None:
        return _KEPT
    _KEPT = False
    if os.environ.get(KEEP_FREED_MEMORY_VAR, "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # glibc only: another libc's mallopt may take other parameters
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # M_TRIM_THRESHOLD takes an int here: 2**31 - 1 bytes (2 GiB) of free heap top before a trim.
    _KEPT = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    return _KEPT


def allocator_environment() -> str:
    """How this process's ``malloc`` treats freed memory: ``"kept"`` (:func:`keep_freed_memory`)
    or ``"default"``."""
    return "kept" if _KEPT else "default"
