"""Inference cost per video: the single RGB model against the ensembles it replaces.

The paper's motivation in numbers. Three systems, each timed end to end per video, from the
``.webm`` file to the class scores, on this CPU:

* ``RGB``: decode the centre clip's T frames (decord), resize + centre crop, normalise, one
  TSM network (what an MML-trained RGB model costs at inference);
* ``RGB+Flow``: decode the T windows of 6 consecutive frames the Flow model reads, optical flow
  between them (``farneback`` | ``dis`` | ``tvl1``) at the decoded resolution, resized to the
  network's with the vectors scaled and quantised as training saw it, then both networks and the
  mean of their scores;
* ``RGB+Flow+RGBDiff``: the same plus the RGBDiff network on the same frames.

Frames are indexed as in mmlkit's test view (``sampling.modality_indices`` on the centre clip),
one view per video (TSM's efficient setting). Flow is computed online for the 5 x T frame pairs
the model reads, not for the whole video as ``python -m mmlkit flow`` does offline.

Cases:

* ``default``: the embedded benchmark's model (``resnet_tiny`` TSM, T = 8, 32 px) on the
  default preset's videos (48 x 48 px VP9; flow at 48 px, brought to 32 px as the packing step
  does, bound 5 px);
* ``tsm_r50``: TSM-ResNet-50, T = 8, 224 px (short side 256, centre crop) on 240 x 320 px
  generator videos (SSv2's height), flow at 240 x 320 (bound 20 px, TSM's); 174 classes.

Per case and system: latency per video at batch 1 (median and p90 over videos x repeats, after
one warm-up video), throughput at a batch of videos (per-video decoding and flow, then the
networks on the batch), the time of each stage (decode, flow, preprocessing, each network) and
the process's peak resident memory. Every case x system runs in a fresh spawned process, so its
peak is its own (``ru_maxrss``; the interpreter with torch imported is reported alongside).
The ratios RGB+Flow / RGB and RGB+Flow+RGBDiff / RGB (median latency) are the headline.

Weights are random: the cost of a forward pass does not depend on them. Accuracy comes from the
results store (``mmlkit.results.paper_tables``, "accuracy vs cost"). TV-L1 needs OpenCV's contrib
module; without it its rows say so.

Besides the harness's rows, full mode writes ``benchmarks/results/inference/inference.json``,
which ``99_paper_tables`` reads for the accuracy-vs-cost figure.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing as mp
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

OUT_JSON = Path(__file__).resolve().parent / "results" / "inference" / "inference.json"
SYSTEMS: tuple[tuple[str, ...], ...] = (("RGB",), ("RGB", "Flow"), ("RGB", "Flow", "RGBDiff"))


@dataclass(frozen=True)
class Case:
    """One model size and the videos it is fed.

    Attributes:
        name: row label. arch: TSN backbone. num_classes: classifier width.
        num_segments: T. input_size: network input side (px). scale_size: short side before the
        centre crop (px). height, width: decoded video size (px). flow_bound: quantisation bound
        (px of the network's input). videos, repeats: latency sample. batch: throughput batch.
        slow_flow_videos: the latency sample and throughput batch with TV-L1, which takes
        seconds per frame pair at 240 x 320 (``None``: as the other methods).
        slow_flow_three: also time RGB+Flow+RGBDiff with TV-L1 (its flow stage is RGB+Flow's).
    """

    name: str
    arch: str
    num_classes: int
    num_segments: int
    input_size: int
    scale_size: int
    height: int
    width: int
    flow_bound: float
    videos: int
    repeats: int
    batch: int
    slow_flow_videos: int | None = None
    slow_flow_three: bool = True

    def for_method(self, method: str | None) -> "Case":
        """This case with the smaller sample TV-L1 gets."""
        if method != "tvl1" or self.slow_flow_videos is None:
            return self
        import dataclasses

        n = self.slow_flow_videos
        return dataclasses.replace(self, videos=n, repeats=1, batch=n)


def cases(quick: bool) -> list[Case]:
    """The measured cases (quick: the default model only, small samples)."""
    if quick:
        return [Case("default", "resnet_tiny", 29, 8, 32, 32, 48, 48, 5.0, videos=2, repeats=1, batch=2)]
    return [Case("default", "resnet_tiny", 29, 8, 32, 32, 48, 48, 5.0, videos=8, repeats=3, batch=16),
            Case("tsm_r50", "resnet50", 174, 8, 224, 256, 240, 320, 20.0, videos=3, repeats=1, batch=4,
                 slow_flow_videos=1, slow_flow_three=False)]


def flow_methods(quick: bool) -> list[str]:
    """Flow methods to time: farneback (the default benchmark's), DIS, TV-L1 (the paper's, via TSM)."""
    from mmlkit.data.flow import tvl1_available

    methods = ["farneback", "dis"] if quick else ["farneback", "dis", "tvl1"]
    return [m for m in methods if m != "tvl1" or tvl1_available()]


# ------------------------------------------------------------------------------- videos
def make_videos(case: Case, folder: Path) -> list[Path]:
    """Render ``case.videos`` generator clips at the case's size and encode them as VP9 webm."""
    import dataclasses

    from mmlkit.data import synthetic

    preset = dataclasses.replace(synthetic.PRESETS["default"], height=case.height, width=case.width,
                                 min_frames=48, max_frames=48)
    paths = []
    for i in range(case.videos):
        frames = synthetic.render_clip(i % len(preset.classes), synthetic.clip_rng(0, "test", i), preset)
        path = folder / f"{case.name}_{i}.webm"
        synthetic.encode_webm(frames, path, fps=preset.fps, crf=preset.crf)
        paths.append(path)
    return paths


# ------------------------------------------------------------------------------- pipeline
def _centre_box(h: int, w: int, case: Case) -> tuple[int, int, int, int, float]:
    """(new_h, new_w, y0, x0, scale): short side to ``scale_size``, then a centred crop."""
    s = case.scale_size / min(h, w)
    nh, nw = max(case.input_size, round(h * s)), max(case.input_size, round(w * s))
    return nh, nw, (nh - case.input_size) // 2, (nw - case.input_size) // 2, s


def _view(frames: np.ndarray, case: Case) -> np.ndarray:
    """uint8 (n, H, W, C) -> (n, input, input, C): resize the short side, crop the centre."""
    from mmlkit.data.flow import resize_frames

    nh, nw, y0, x0, _ = _centre_box(frames.shape[1], frames.shape[2], case)
    out = resize_frames(frames, nh, nw)
    k = case.input_size
    return np.ascontiguousarray(out[:, y0:y0 + k, x0:x0 + k])


def _flow_view(flow: np.ndarray, case: Case) -> np.ndarray:
    """float (n, H, W, 2) px -> uint8 (n, input, input, 2): resized (vectors scaled), cropped, quantised."""
    from mmlkit.data.flow import quantize_flow, resize_flow

    nh, nw, y0, x0, _ = _centre_box(flow.shape[1], flow.shape[2], case)
    k = case.input_size
    return quantize_flow(resize_flow(flow, nh, nw)[:, y0:y0 + k, x0:x0 + k], case.flow_bound)


class Pipeline:
    """One system of one case: networks built once, :meth:`prepare` per video, :meth:`forward` per batch."""

    def __init__(self, case: Case, modalities: tuple[str, ...], method: str | None) -> None:
        import torch

        from mmlkit.config import NEW_LENGTH
        from mmlkit.data.flow import flow_function
        from mmlkit.models import TSN

        self.case, self.modalities, self.method = case, modalities, method
        self.new_length = {m: NEW_LENGTH[m] for m in modalities}
        torch.manual_seed(0)
        self.nets = {m: TSN(case.num_classes, case.num_segments, m, arch=case.arch, dropout=0.5,
                            zero_init_residual=True).eval() for m in modalities}
        self.flow_fn = flow_function(method, "ultrafast") if "Flow" in modalities else None
        self.stages: dict[str, float] = {}

    def _tick(self, stage: str, t0: float) -> float:
        t1 = time.perf_counter()
        self.stages[stage] = self.stages.get(stage, 0.0) + (t1 - t0)
        return t1

    def prepare(self, path: Path) -> dict[str, object]:
        """Decode, flow and preprocess one video -> per-modality float tensors (1, T, C, k, k)."""
        import cv2

        from mmlkit.data import sampling
        from mmlkit.data.transforms import normalize
        from mmlkit.data.video import open_video

        t = time.perf_counter()
        reader = open_video(path, "decord")
        n = len(reader)
        counts = {m: (n - 1 if m == "Flow" else n) for m in self.modalities}
        n_min, l_max = sampling.base_geometry(counts, self.new_length)
        base = sampling.test_indices(n_min, self.case.num_segments, l_max)[0]           # (T,)
        idx = sampling.modality_indices(base, counts, self.new_length)                 # m -> (T, l)
        need = set(idx["RGB"].ravel().tolist())
        if "Flow" in idx:
            need |= set(idx["Flow"].ravel().tolist()) | set((idx["Flow"] + 1).ravel().tolist())
        if "RGBDiff" in idx:
            need |= set(idx["RGBDiff"].ravel().tolist())
        order = np.array(sorted(need), dtype=np.int64)
        frames = reader.get(order)                                                     # (F, H, W, 3)
        pos = {int(f): i for i, f in enumerate(order)}
        t = self._tick("decode", t)
        inputs: dict[str, object] = {}
        if "Flow" in idx:
            gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
            fl = np.stack([self.flow_fn(gray[pos[i]], gray[pos[i + 1]]) for i in idx["Flow"].ravel().tolist()])
            t = self._tick("flow", t)
            q = _flow_view(fl, self.case)                                              # (T*5, k, k, 2)
            inputs["Flow"] = normalize(q.reshape(1, self.case.num_segments, 5, *q.shape[1:]), "Flow")
        for m in ("RGB", "RGBDiff"):
            if m in idx:
                sel = frames[[pos[int(i)] for i in idx[m].ravel()]]
                v = _view(sel, self.case)
                inputs[m] = normalize(v.reshape(1, self.case.num_segments, self.new_length[m], *v.shape[1:]), m)
        self._tick("preprocess", t)
        return inputs

    def forward(self, inputs: dict[str, object]) -> object:
        """Each network on its input (batched), then the mean of the softmaxes."""
        import torch

        probs = []
        with torch.inference_mode():
            for m, net in self.nets.items():
                t = time.perf_counter()
                probs.append(net(inputs[m]).softmax(-1))
                self._tick(f"net {m}", t)
        return torch.stack(probs).mean(0)


def _cat(batch: list[dict[str, object]]) -> dict[str, object]:
    import torch

    return {m: torch.cat([b[m] for b in batch]) for m in batch[0]}


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def measure_system(case: Case, modalities: tuple[str, ...], method: str | None, videos: list[str],
                   threads: int) -> dict:
    """Latency, throughput, stage times and peak memory of one system (run in a fresh process)."""
    import torch

    torch.set_num_threads(threads)
    base_mib = _maxrss_mib()
    pipe = Pipeline(case, modalities, method)
    paths = [Path(v) for v in videos]
    pipe.forward(pipe.prepare(paths[0]))                                               # warm-up
    pipe.stages.clear()
    lat = []
    for _ in range(case.repeats):
        for p in paths:
            t0 = time.perf_counter()
            pipe.forward(pipe.prepare(p))
            lat.append(time.perf_counter() - t0)
    stages = {k: 1e3 * v / len(lat) for k, v in pipe.stages.items()}
    batch = [paths[i % len(paths)] for i in range(case.batch)]
    t0 = time.perf_counter()
    pipe.forward(_cat([pipe.prepare(p) for p in batch]))
    thr = case.batch / (time.perf_counter() - t0)
    return {"case": case.name, "system": "+".join(modalities), "flow": method, "latency_ms": [1e3 * x for x in lat],
            "median_ms": 1e3 * statistics.median(lat), "p90_ms": 1e3 * float(np.percentile(lat, 90)),
            "throughput_videos_s": thr, "batch": case.batch, "stages_ms": stages,
            "peak_mib": _maxrss_mib(), "python_torch_mib": base_mib, "threads": threads}


def _in_fresh_process(fn, *args):
    ctx = mp.get_context("spawn")  # a fresh interpreter per system: each peak is its own
    with cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        return pool.submit(fn, *args).result()


def measure(quick: bool, threads: int | None = None) -> dict:
    """Every case x system x flow method; returns the JSON document (see the module docstring)."""
    import cv2
    import torch

    threads = threads or torch.get_num_threads()
    results = []
    with tempfile.TemporaryDirectory(prefix="mmlkit-inference-") as tmp:
        for case in cases(quick):
            videos = [str(p) for p in make_videos(case, Path(tmp))]
            plan = [(("RGB",), None)] + [(s, m) for s in SYSTEMS[1:] for m in flow_methods(quick)
                                         if not (m == "tvl1" and len(s) == 3 and not case.slow_flow_three)]
            for modalities, method in plan:
                t0 = time.perf_counter()
                c = case.for_method(method)
                r = _in_fresh_process(measure_system, c, modalities, method, videos[:c.videos], threads)
                r["case_config"] = asdict(c)
                results.append(r)
                print(f"[inference] {case.name} {r['system']} {method or ''}: median {r['median_ms']:.1f} ms "
                      f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return {"meta": {"threads": threads, "opencv": cv2.__version__, "tvl1": "tvl1" in flow_methods(False),
                     "torch": torch.__version__, "cpus": os.cpu_count(), "quick": quick,
                     "load_average_start": os.getloadavg()[0]},
            "results": results}


def ratios(doc: dict) -> list[dict]:
    """Median latency of each ensemble over the RGB model's, per case and flow method."""
    out = []
    for case in sorted({r["case"] for r in doc["results"]}):
        rs = [r for r in doc["results"] if r["case"] == case]
        rgb = next(r for r in rs if r["system"] == "RGB")
        for r in rs:
            if r["system"] != "RGB":
                out.append({"case": case, "system": r["system"], "flow": r["flow"],
                            "ratio": r["median_ms"] / rgb["median_ms"]})
    return out


def rows(quick: bool) -> list[dict]:
    doc = measure(quick)
    if not quick:
        OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
        OUT_JSON.write_text(json.dumps(doc, indent=2))
    out = []
    for r in doc["results"]:
        label = f"{r['case']} {r['system']}" + (f" ({r['flow']})" if r["flow"] else "")
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stages_ms"].items())
        out += [{"name": f"{label} latency median", "value": r["median_ms"], "unit": "ms/video",
                 "notes": f"p90 {r['p90_ms']:.1f} ms over {len(r['latency_ms'])}; stages (ms): {stages}"},
                {"name": f"{label} throughput", "value": r["throughput_videos_s"], "unit": "videos/s",
                 "notes": f"batch {r['batch']}, {r['threads']} threads"},
                {"name": f"{label} peak memory", "value": r["peak_mib"], "unit": "MiB",
                 "notes": f"process peak; python + torch alone {r['python_torch_mib']:.0f} MiB"}]
    for q in ratios(doc):
        out.append({"name": f"{q['case']} {q['system']} ({q['flow']}) / RGB", "value": q["ratio"], "unit": "x",
                    "notes": "median latency per video, decode to scores"})
    if not doc["meta"]["tvl1"]:
        out.append({"name": "tvl1", "value": float("nan"), "unit": "",
                    "notes": "not measured: OpenCV without contrib (pip install opencv-contrib-python-headless "
                             "in place of opencv-python-headless)"})
    return out


if __name__ == "__main__":
    for row in rows(quick="--quick" in sys.argv):
        print(row)
