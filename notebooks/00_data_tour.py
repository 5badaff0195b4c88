# ---
# jupyter:
#   kernelspec:
#     display_name: mmlkit (.venv)
#     language: python
#     name: mmlkit
# ---

# %% [markdown]
# # 00 - A tour of the data
#
# Something-Something-v2 (SSv2) is hard because its classes live in **motion and temporal order**
# ("Moving something from left to right" vs "... from right to left"), not in what the objects look
# like. mmlkit's embedded benchmark is a small, synthetic stand-in with the same property, written in
# the real SSv2 on-disk layout so that the real loaders read it. This notebook shows the data, the
# frame samplers of the paper, and the three input modalities (RGB, optical flow, RGB differences).

# %% tags=["parameters"]
# Parameters (papermill overrides these; `./run_all.sh test` sets MMLKIT_PROFILE=smoke for nbval)
import os
profile = os.environ.get("MMLKIT_PROFILE", "default")  # smoke | default | paper
seeds = None             # training seeds; None: [0] in the smoke profile, [0, 1, 2] otherwise
dataset = "synthetic"    # synthetic | somethingv2 | a path to an SSv2-format folder
data_root = None         # the data root (SSv2: the folder holding labels.json)
device = "cpu"           # cpu | cuda
workers = 0              # data loader processes
results_dir = None       # the runs store (relative to the repo root); default results/<profile>-pinned
synth_seed = 0           # the draw of the synthetic benchmark (another draw: is a verdict a property of one?)
threads = None           # torch threads per run; None: the profile's (./run_all.sh --lanes 2: 1 each)
output_dir = None        # "papers_results" when run by ./run_all.sh; None: show, do not write

# %%
# %matplotlib inline
import torch
from IPython.display import display
from mmlkit.results import analyses
from mmlkit.results.experiments import Study
from mmlkit.results.tables import readable
from mmlkit.results.when_mml_helps import when_mml_helps

torch.set_num_threads(threads or os.cpu_count() or 1)
study = Study(profile=profile, seeds=seeds, dataset=dataset, data_root=data_root, device=device,
              workers=workers, results_dir=results_dir, synth_seed=synth_seed, threads=threads,
              notebook="00_data_tour")
study

# %% [markdown]
# ## The benchmark
# Each row of the montage is one class: a few frames of one example clip. Objects, colours, textures,
# sizes and backgrounds are drawn independently of the class, so a single frame does not tell it.

# %%
from mmlkit.results.data_tour import data_tour

tour = data_tour(study)
tour.save(output_dir)
display(readable(tour.tables['splits']))

# %% mystnb={"image": {"alt": "Montage of the synthetic benchmark: one row per class, a few frames of one example clip each, labelled with the class template"}}
tour.figures["montage"]

# %% [markdown]
# ## Classes, and the left/right pairs a horizontal flip would swap
# A flip turns "left to right" into "right to left", so mmlkit only flips together with a label swap;
# the pairs are found from the templates themselves.

# %%
display(readable(tour.tables["classes"]))

# %% [markdown]
# ## Frame samplers (method.md)
# `uniform` (TSN) splits the video into T segments and takes one frame per segment; `dense` takes T
# frames with a fixed stride from a window of `dense_length` frames; `random` trains with either, with
# probability 1/2. At test time, `twice` adds the uniform clip shifted by half a segment, `dense x n`
# spreads n dense windows over the video, and `both` (the released code's `--random_sample` at test)
# is the dense clips followed by the uniform one. Each line below is one view; dots are frame indices.

# %% mystnb={"image": {"alt": "Frame-index timelines of the test samplers (uniform, twice, dense, dense x 3, random both): one row per view, a dot per sampled frame"}}
tour.figures["samplers"]

# %% [markdown]
# ## Three modalities of the same clip
# RGB frames; optical flow (x and y displacement, stored as 8-bit images, grey = no motion);
# RGB differences (frame[k] - frame[k-1], which the model computes from 6 frames per segment). All
# peers see the same frames and the same crop. The benchmark is rendered at 48 px; flow is computed
# there (Farneback) and frames and flow are stored at the network's 32 px, vectors scaled to it and
# clipped at +-5 px.

# %% mystnb={"image": {"alt": "One clip in four rows: its RGB frames, optical flow x and y (red positive, blue negative) and RGB differences"}}
tour.figures["modalities"]

# %% [markdown]
# ## Is the flow right? The stored flow next to the generator's exact flow
# The generator knows every object's pose and the camera's offset in every frame, so the true flow
# of the moving object is known exactly. Below, the flow the Flow model reads for this clip, next to
# the truth on the object's pixels (blank elsewhere), and the endpoint error over the whole clip
# against that of predicting no motion. `benchmarks/bench_flow_quality.py` measures this over
# clips of every class, for several methods and render sizes (the table in the README).

# %% mystnb={"image": {"alt": "The stored optical flow of one clip next to the generator's exact flow on the moving object, x and y rows for six frame pairs"}}
tour.figures["flow_truth"]

# %%
display(readable(tour.tables["flow_truth"]))
