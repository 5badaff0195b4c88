"""Video decoding (decord first, PyAV fallback) and the frame sources behind one interface.

Every source answers ``num_frames(video_id, modality)`` and ``read(video_id, modality, indices)``
with 0-based frame indices. Modalities: ``"RGB"`` (and ``"RGBDiff"``, which reads RGB frames;
the model differences them) -> uint8 ``(n, H, W, 3)``; ``"Flow"`` -> uint8 ``(n, H, W, 2)``,
channel 0 = x, 1 = y, quantised with :func:`mmlkit.data.flow.quantize_flow` (128 ~ zero).
A video of N frames has N - 1 flow frames.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

from mmlkit.config import MODALITY_SPECS
from mmlkit.data.paths import child
from mmlkit.data.sthv2 import find_video
from mmlkit.errors import DataError, VideoDecodeError

FLOW_HINT = "run `python -m mmlkit flow {root}` to extract optical flow"


# ----------------------------------------------------------------------------- decoding
def container_frames(container, stream) -> int | None:
    """Frames the container's header promises: duration x frame rate (``None`` when it says neither)."""
    rate = stream.average_rate or stream.guessed_rate
    if container.duration is None or not rate:
        return None
    return int(round(container.duration / 1_000_000 * float(rate)))


def check_complete(path: Path, n_frames: int, expected: int | None) -> None:
    """A video with fewer frames than its header's duration x fps was cut short (a partial download or
    copy): decoders read what is there without complaint, so the clip would be silently shorter.

    Raises:
        VideoDecodeError: more than one frame (and 2%) missing.
    """
    if expected is not None and n_frames < expected - max(1, 0.02 * expected):
        raise VideoDecodeError(path, f"truncated: {n_frames} frames present, the header's duration x fps "
                                     f"promises {expected} (a partial download or copy?)")


def _probe_expected(path: Path) -> int | None:
    """The header's duration x fps of ``path`` (:func:`container_frames`), read with PyAV; ``None``
    where PyAV is missing or cannot open it."""
    try:
        container, stream = _open_pyav(path)
        with container:
            return container_frames(container, stream)
    except Exception:  # noqa: BLE001 - no metadata to check against; the decoder's own errors stand
        return None


def _rgb24_converter():
    """``frame -> uint8 (H, W, 3)`` RGB, for the frames of one video.

    ``frame.to_ndarray(format="rgb24")`` builds a new swscale context for every frame, which cost
    more than decoding the frame (48-px clips: 12 ms of a 17 ms read); one reformatter per video
    keeps its context while the frame geometry stays the same. The pixels are the same (tested).
    """
    from av.video.reformatter import VideoReformatter

    reformatter = VideoReformatter()
    return lambda frame: reformatter.reformat(frame, format="rgb24").to_ndarray()


def _open_pyav(path: Path):
    """``(container, its first video stream)`` of ``path`` with PyAV; the caller closes the
    container (``with container:``).

    Raises:
        VideoDecodeError: PyAV cannot open it, or it holds no video stream.
    """
    import av

    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise VideoDecodeError(path, f"PyAV cannot open it: {exc or type(exc).__name__}") from exc
    if not container.streams.video:
        container.close()
        raise VideoDecodeError(path, "PyAV cannot open it: no video stream")
    return container, container.streams.video[0]


class _PyAVReader:
    """Sequential PyAV decoding; keeps only the frames asked for."""

    backend = "pyav"

    def __init__(self, path: Path) -> None:
        import av

        self.path = path
        self._av = av
        container, stream = _open_pyav(path)
        try:
            with container:
                # stream.frames is 0 for webm: count the packets instead (no decoding).
                n = stream.frames or sum(1 for p in container.demux(stream) if p.size)
                expected = container_frames(container, stream)
        except (av.FFmpegError, OSError) as exc:
            raise VideoDecodeError(path, f"PyAV cannot open it: {exc or type(exc).__name__}") from exc
        if n <= 0:
            raise VideoDecodeError(path, "no video frames")
        check_complete(path, n, expected)
        self._len = n

    def __len__(self) -> int:
        return self._len

    def get(self, indices: np.ndarray) -> np.ndarray:
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size == 0:
            raise ValueError("indices is empty")
        wanted = set(idx.tolist())
        last = int(idx.max())
        got: dict[int, np.ndarray] = {}
        to_rgb = _rgb24_converter()
        try:
            with self._av.open(str(self.path)) as container:
                for i, frame in enumerate(container.decode(video=0)):
                    if i in wanted:
                        got[i] = to_rgb(frame)
                    if i >= last:
                        break
        except (self._av.FFmpegError, OSError) as exc:
            raise VideoDecodeError(self.path, f"PyAV decode failed: {exc}") from exc
        if len(got) < len(wanted):
            raise VideoDecodeError(self.path, f"truncated: decoded {len(got)} of the {len(wanted)} frames asked "
                                              f"(largest index {last}, header says {self._len} frames)")
        return np.stack([got[i] for i in idx.tolist()])

    def read_all(self) -> np.ndarray:
        return _pyav_read_all(self.path)


def _pyav_read_all(path: Path) -> np.ndarray:
    """Every frame of ``path`` in one pass of PyAV: uint8 ``(N, H, W, 3)`` RGB.

    One open of the file: the header's duration x fps is read from the container that decodes,
    and the decoded frames are counted against it (:func:`check_complete`), where
    ``_PyAVReader(path).read_all()`` opened it twice (counting its packets, then decoding).

    Raises:
        VideoDecodeError: not a video PyAV can open, a decoding error, no frames, or fewer
            frames than the header promises.
    """
    import av

    to_rgb = _rgb24_converter()
    container, stream = _open_pyav(path)
    with container:
        expected = container_frames(container, stream)
        try:
            frames = [to_rgb(f) for f in container.decode(stream)]
        except (av.FFmpegError, OSError) as exc:
            raise VideoDecodeError(path, f"PyAV decode failed: {exc}") from exc
    if not frames:
        raise VideoDecodeError(path, "no video frames")
    check_complete(path, len(frames), expected)
    return np.stack(frames)


def _import_decord():
    """decord, loaded after PyAV.

    decord 0.6.0 carries its own FFmpeg 4 libraries; loaded into a process before PyAV's FFmpeg,
    they leave PyAV unable to open its VP9 encoder ("avcodec_open2("libvpx-vp9", ...) returned
    22"), so a notebook that had read a video could no longer generate the benchmark (nor could
    the worker processes it forks). PyAV first, and both work.
    """
    import importlib

    importlib.import_module("av")  # loaded for its side effect: the order is the point
    return importlib.import_module("decord")


class _DecordReader:
    """decord.VideoReader reading only the frames asked for (get_batch); PyAV on failure."""

    backend = "decord"

    def __init__(self, path: Path) -> None:
        decord = _import_decord()

        self.path = path
        self._vr = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)
        self._len = len(self._vr)
        if self._len <= 0:
            raise RuntimeError("decord reports 0 frames")
        check_complete(path, self._len, _probe_expected(path))

    def __len__(self) -> int:
        return self._len

    def get(self, indices: np.ndarray) -> np.ndarray:
        idx = np.asarray(indices, dtype=np.int64)
        try:
            return self._vr.get_batch(idx.tolist()).asnumpy()
        except Exception as exc:  # decord raises bare RuntimeError/DECORDError on bad files
            try:
                return _PyAVReader(self.path).get(idx)
            except VideoDecodeError as exc2:
                raise VideoDecodeError(self.path, f"decord failed ({exc}); {exc2.reason}") from exc2

    def read_all(self) -> np.ndarray:
        return self.get(np.arange(self._len))


class VideoReader(Protocol):
    """What :func:`open_video` returns."""

    backend: str

    def __len__(self) -> int: ...
    def get(self, indices: np.ndarray) -> np.ndarray: ...
    def read_all(self) -> np.ndarray: ...


def open_video(path: str | Path, backend: str = "auto") -> VideoReader:
    """Open a video for random access.

    Args:
        path: a video file (webm/VP9, mp4/H.264, ...).
        backend: ``"auto"`` (decord, PyAV when decord is missing or fails on this file),
            ``"decord"`` or ``"pyav"``.

    Returns:
        A reader: ``len(reader)`` frames; ``reader.get(indices int64 (n,), 0-based)`` ->
        uint8 ``(n, H, W, 3)`` RGB; ``reader.read_all()`` -> uint8 ``(N, H, W, 3)``.

    Raises:
        VideoDecodeError: missing, empty, corrupt or truncated file (names the file).
    """
    path = _check_file(path, backend)
    decord_error = "decord not tried"
    if backend in ("auto", "decord"):
        try:
            return _DecordReader(path)
        except VideoDecodeError:  # truncated: PyAV would read the same frames
            raise
        except ImportError as exc:
            decord_error = f"decord not installed ({exc})"
        except Exception as exc:  # decord's errors are plain RuntimeErrors
            decord_error = f"decord: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        if backend == "decord":
            raise VideoDecodeError(path, decord_error)
    try:
        return _PyAVReader(path)
    except VideoDecodeError as exc:
        raise VideoDecodeError(path, f"{decord_error}; {exc.reason}") from exc


def _check_file(path: str | Path, backend: str) -> Path:
    """``path`` as a Path, once the backend is known and the file exists and is not empty."""
    path = Path(path)
    if backend not in ("auto", "decord", "pyav"):
        raise ValueError(f"backend={backend!r}; expected 'auto', 'decord' or 'pyav'")
    if not path.is_file():
        raise VideoDecodeError(path, "file does not exist")
    if path.stat().st_size == 0:
        raise VideoDecodeError(path, "file is empty (0 bytes)")
    return path


def read_all_frames(path: str | Path, backend: str = "auto") -> np.ndarray:
    """Every frame of a video: uint8 ``(N, H, W, 3)`` RGB. Raises VideoDecodeError.

    ``"auto"`` reads with PyAV here, not decord: a whole video is one sequential pass, which PyAV
    does without building decord's index, at 3,200 frames/s against decord's 2,700 on 320x240
    VP9 (``python -m benchmarks --only flow``); and decord 0.6.0 fails on some frame sizes after
    decoding (the synthetic benchmark's 48-px clips: "DECORDArrayCopyFromTo: The size must
    exactly match"), which cost a second decode in PyAV. Both give the same pixels
    (``tests/data/test_video.py``). Random access (:func:`open_video`) keeps decord first. PyAV
    opens the file once (:func:`_pyav_read_all`).
    """
    path = _check_file(path, backend)
    if backend == "decord":
        return open_video(path, "decord").read_all()
    return _pyav_read_all(path)


# ----------------------------------------------------------------------------- sources
class FrameSource(Protocol):
    """Frames of videos by id; indices 0-based int64, already clamped to ``[0, num_frames-1]``."""

    def num_frames(self, video_id: str, modality: str) -> int: ...
    def read(self, video_id: str, modality: str, indices: np.ndarray) -> np.ndarray: ...


def _kind(modality: str) -> str:
    """The stored frames ``modality`` reads: ``rgb`` or ``flow`` (``MODALITY_SPECS``)."""
    if modality not in MODALITY_SPECS:
        raise DataError(f"modality {modality!r}; expected one of {', '.join(MODALITY_SPECS)}")
    return MODALITY_SPECS[modality].source


def _check_indices(indices: np.ndarray, n: int, what: str) -> np.ndarray:
    idx = np.asarray(indices, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise DataError(f"{what}: indices {idx.min()}..{idx.max()} outside 0..{n - 1} ({n} frames)")
    return idx


def npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and data offset (bytes) of a C-ordered ``.npy`` file, from its header only."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
        if fortran:
            raise ValueError("Fortran-ordered array; packed frames are C-ordered")
        return tuple(shape), np.dtype(dtype), f.tell()


def npy_shape(path: Path) -> tuple[int, ...]:
    """Shape of a ``.npy`` file from its header only (no data read)."""
    return npy_header(path)[0]


#: Read the whole span of a clip's frames in one call when it is at most this many bytes.
_SPAN_BYTES = 4 << 20


class NpyHeaders:
    """The ``.npy`` headers (shape, dtype, data offset) of a process's packed videos, parsed once
    per version of each file.

    A data set, and with it its :class:`PackedSource`, is built anew for every run and every
    scoring, and each new source parsed every header again: 7,366 of them cost 1.6 s of a 10 s
    held-out scoring (``ast.literal_eval`` of each header). Shared here, a source built later
    pays one ``os.stat`` per video, which also notices a file written again (an interrupted
    ``mmlkit flow`` rerun, a regenerated benchmark: another inode, size or modification time)
    and parses that one again. Headers are small; every one is kept.

    (Keeping the videos' frames as well, up to a memory budget, was tried and not kept: the
    same bits, no faster; ``benchmarks/results/frames/whole_videos.json``, made by the
    ``benchmarks/bench_frames.py`` of the commit that tried it.)
    """

    def __init__(self) -> None:
        self._headers: dict[str, tuple[tuple[int, int, int], tuple[tuple[int, ...], np.dtype, int]]] = {}
        self.parsed = 0

    def clear(self) -> None:
        self._headers.clear()
        self.parsed = 0

    def __len__(self) -> int:
        return len(self._headers)

    def get(self, path: str) -> tuple[tuple[int, ...], np.dtype, int]:
        """:func:`npy_header` of ``path``.

        Raises:
            FileNotFoundError: no such file. ValueError, OSError: not a readable ``.npy`` file.
        """
        st = os.stat(path)
        sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        entry = self._headers.get(path)
        if entry is not None and entry[0] == sig:
            return entry[1]
        head = npy_header(Path(path))
        self._headers[path] = (sig, head)
        self.parsed += 1
        return head


#: The process's :class:`NpyHeaders`, shared by every :class:`PackedSource`.
HEADERS = NpyHeaders()


class PackedSource:
    """Per-video uint8 arrays ``<root>/packed/{rgb,flow}/<id>.npy`` (written by ``mmlkit flow``).

    The header of each file is parsed once per process (:data:`HEADERS`); a read then fetches
    only the bytes of the frames asked for (one read of their span when it is small, else one
    read per frame), which is about ten times cheaper than ``np.load(mmap_mode="r")`` per clip.

    Args:
        root: the data root (``<root>/packed/{rgb,flow}``).
        headers: where parsed headers are kept (default :data:`HEADERS`, the process's).
    """

    def __init__(self, root: str | Path, headers: NpyHeaders | None = None) -> None:
        self.root = Path(root)
        self.headers = HEADERS if headers is None else headers
        self._headers: dict[tuple[str, str], tuple[tuple[int, ...], np.dtype, int]] = {}
        self._paths: dict[tuple[str, str], Path] = {}

    def path(self, video_id: str, modality: str) -> Path:
        key = (video_id, _kind(modality))
        if key not in self._paths:
            self._paths[key] = child(self.root / "packed" / key[1], f"{video_id}.npy")
        return self._paths[key]

    def has(self, video_id: str, modality: str) -> bool:
        return self.path(video_id, modality).is_file()

    def _header(self, video_id: str, modality: str) -> tuple[tuple[int, ...], np.dtype, int]:
        key = (video_id, _kind(modality))
        if key not in self._headers:
            path = self.path(video_id, modality)
            try:
                self._headers[key] = self.headers.get(str(path))
            except FileNotFoundError:
                raise DataError(f"{path}: packed {key[1]} frames of video {video_id!r} missing; "
                                + FLOW_HINT.format(root=self.root)) from None
            except (ValueError, OSError) as exc:
                raise DataError(f"{path}: not a readable .npy file ({exc}); delete it and rerun "
                                + FLOW_HINT.format(root=self.root)) from exc
        return self._headers[key]

    def _shape(self, video_id: str, modality: str) -> tuple[int, ...]:
        return self._header(video_id, modality)[0]

    def num_frames(self, video_id: str, modality: str) -> int:
        return self._shape(video_id, modality)[0]

    def read(self, video_id: str, modality: str, indices: np.ndarray) -> np.ndarray:
        shape, dtype, offset = self._header(video_id, modality)
        path = self.path(video_id, modality)
        idx = _check_indices(indices, shape[0], f"{path}")
        frame = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        out = np.empty((len(idx),) + shape[1:], dtype=dtype)
        if len(idx) == 0:
            return out
        lo, hi = int(idx.min()), int(idx.max()) + 1
        with open(path, "rb") as f:
            if (hi - lo) * frame <= _SPAN_BYTES:
                f.seek(offset + lo * frame)
                buf = f.read((hi - lo) * frame)
                if len(buf) != (hi - lo) * frame:
                    raise DataError(f"{path}: truncated .npy file (frames {lo}..{hi - 1} of {shape[0]}); "
                                    "delete it and rerun " + FLOW_HINT.format(root=self.root))
                span = np.frombuffer(buf, dtype=dtype).reshape((hi - lo,) + shape[1:])
                out[...] = span[idx - lo]
            else:
                for k, i in enumerate(idx):
                    f.seek(offset + int(i) * frame)
                    buf = f.read(frame)
                    if len(buf) != frame:
                        raise DataError(f"{path}: truncated .npy file (frame {i} of {shape[0]}); "
                                        "delete it and rerun " + FLOW_HINT.format(root=self.root))
                    out[k] = np.frombuffer(buf, dtype=dtype).reshape(shape[1:])
        return out


class FrameFolderSource:
    """TSM-style JPEG folders: ``<frames_root>/<id>/img_00001.jpg`` (1-based), ``flow_x_/flow_y_``."""

    def __init__(self, frames_root: str | Path, rgb_template: str = "img_{:05d}.jpg",
                 flow_templates: tuple[str, str] = ("flow_x_{:05d}.jpg", "flow_y_{:05d}.jpg")) -> None:
        self.root = Path(frames_root)
        self.rgb_template = rgb_template
        self.flow_templates = flow_templates
        self._counts: dict[tuple[str, str], int] = {}

    def _prefix(self, modality: str) -> str:
        tpl = self.rgb_template if _kind(modality) == "rgb" else self.flow_templates[0]
        return tpl.split("{")[0]

    def num_frames(self, video_id: str, modality: str) -> int:
        key = (video_id, _kind(modality))
        if key not in self._counts:
            folder = child(self.root, video_id)
            if not folder.is_dir():
                raise DataError(f"{folder}: frame folder of video {video_id!r} missing"
                                + ("" if key[1] == "rgb" else "; " + FLOW_HINT.format(root=self.root.parent) + " --jpeg"))
            prefix = self._prefix(modality)
            self._counts[key] = sum(1 for p in folder.iterdir() if p.name.startswith(prefix))
        return self._counts[key]

    def _imread(self, path: Path, gray: bool) -> np.ndarray:
        import cv2

        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR)
        if img is None:
            raise DataError(f"{path}: missing or unreadable image")
        return img if gray else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def read(self, video_id: str, modality: str, indices: np.ndarray) -> np.ndarray:
        folder = child(self.root, video_id)
        idx = _check_indices(indices, self.num_frames(video_id, modality), str(folder))
        if _kind(modality) == "rgb":
            return np.stack([self._imread(folder / self.rgb_template.format(i + 1), False) for i in idx.tolist()])
        tx, ty = self.flow_templates
        return np.stack([np.stack([self._imread(folder / tx.format(i + 1), True),
                                   self._imread(folder / ty.format(i + 1), True)], axis=-1)
                         for i in idx.tolist()])


class VideoSource:
    """RGB decoded from ``<root>/videos/<id>.webm``; Flow from packed arrays or JPEG folders."""

    def __init__(self, root: str | Path, backend: str = "auto") -> None:
        self.root = Path(root)
        self.backend = backend
        self._packed = PackedSource(root)
        self._frames = FrameFolderSource(self.root / "frames")
        self._counts: dict[str, int] = {}
        self._last: tuple[str, VideoReader] | None = None  # num_frames then read: open once

    def _reader(self, video_id: str) -> VideoReader:
        if self._last is None or self._last[0] != video_id:
            self._last = (video_id, open_video(find_video(self.root, video_id), self.backend))
        return self._last[1]

    def _flow_source(self, video_id: str) -> FrameSource:
        if self._packed.has(video_id, "Flow"):
            return self._packed
        if (self.root / "frames" / video_id / self._frames.flow_templates[0].format(1)).is_file():
            return self._frames
        raise DataError(f"{self._packed.path(video_id, 'Flow')}: no optical flow for video {video_id!r} "
                        f"(neither packed nor JPEG); " + FLOW_HINT.format(root=self.root))

    def num_frames(self, video_id: str, modality: str) -> int:
        if _kind(modality) == "flow":
            return self._flow_source(video_id).num_frames(video_id, modality)
        if video_id not in self._counts:
            self._counts[video_id] = len(self._reader(video_id))
        return self._counts[video_id]

    def read(self, video_id: str, modality: str, indices: np.ndarray) -> np.ndarray:
        if _kind(modality) == "flow":
            return self._flow_source(video_id).read(video_id, modality, indices)
        reader = self._reader(video_id)
        self._counts[video_id] = len(reader)
        return reader.get(_check_indices(indices, len(reader), f"video {video_id!r}"))


def make_source(root: str | Path, kind: str = "auto") -> FrameSource:
    """The frame source of a dataset root.

    Args:
        root: dataset root (SSv2 layout).
        kind: ``"packed"``, ``"video"``, ``"frames"`` (``<root>/frames``) or ``"auto"``:
            packed when ``<root>/packed/rgb`` holds files, else frames when ``<root>/frames``
            exists, else video.
    """
    root = Path(root)
    if kind == "auto":
        packed = root / "packed" / "rgb"
        if packed.is_dir() and any(packed.glob("*.npy")):
            kind = "packed"
        elif (root / "frames").is_dir():
            kind = "frames"
        else:
            kind = "video"
    if kind == "packed":
        return PackedSource(root)
    if kind == "video":
        return VideoSource(root)
    if kind == "frames":
        return FrameFolderSource(root / "frames")
    raise DataError(f"source kind {kind!r} for {root}; expected 'auto', 'packed', 'video' or 'frames'")
