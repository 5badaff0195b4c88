# ---
# jupyter:
#   kernelspec:
#     display_name: mmlkit (.venv)
#     language: python
#     name: mmlkit
# ---

# %% [markdown]
# # 06 - When does mutual modality learning help?
#
# A practitioner's question before paying for a second modality at training time: **in which regime
# does a peer improve the RGB model?** We measure the MML gain of the RGB model (MML's RGB model
# minus the same RGB model trained as long without a peer, paired by seed, with its 95% intervals)
# on a small grid:
#
# - **regime**: `converged` (the profile's schedule for stage 1 and stage 2, as in the paper) and
#   `short` (the whole recipe at a quarter of the epochs: an under-fitted RGB model);
# - **peer**: an RGB peer (plain mutual learning), a Flow peer and an RGBDiff peer, each started
#   from the RGB model of its regime; in the converged regime stage 2 lasts as long as the peer's
#   modality needs (80 epochs with Flow), and the RGB model alone trains as long as its pair.
#
# Next to each gain, what might explain it, measured rather than assumed: the peer's strength (the
# peer trained alone minus RGB trained alone), the ensemble gain of the two models trained alone
# (complementarity) and the RGB model's train - validation gap (room for a regulariser).

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
              notebook="06_when_mml_helps")
study

# %%
res = when_mml_helps(study)
res.save(output_dir)  # writes tables/*.csv|md and figures/*.png when output_dir is set

# %% [markdown]
# ## What is compared
#
# Each cell pairs MML's RGB model with the RGB model trained alone as long; the regimes differ in
# the length of the whole recipe. The fields that differ for the Flow peer (seed 0):

# %%
from mmlkit.results.experiments import config_differences
from mmlkit.results.when_mml_helps import regimes

s0 = study.seeds[0]
cfgs = {}
for regime, ep in regimes(study).items():
    ep = None if ep == study.base().optim.epochs else ep
    cfgs[f"{regime}: RGB alone"] = study.single("RGB", s0, init="rgb", epochs=ep, like=("RGB", "Flow"))
    cfgs[f"{regime}: MML RGB,Flow"] = study.cohort(("RGB", "Flow"), s0, init="rgb", epochs=ep)
display(readable(config_differences(cfgs, study.results_dir)))

# %% [markdown]
# ## The grid (points; MML gain = MML's RGB model minus RGB alone)

# %%
display(readable(res.tables["grid"]))

# %% mystnb={"image": {"alt": "Heat map of the RGB model's MML gain, regimes (converged, short) by peer (RGB, Flow, RGBDiff), each cell with the gain, its 95% interval, the peer's strength and the epochs"}}
res.figures["grid"]

# %% [markdown]
# ## MML gain against the peer's strength

# %% mystnb={"image": {"alt": "Scatter plot: the RGB model's MML gain against the peer's top-1 minus RGB's, both trained alone, one point per peer and regime"}}
res.figures["scatter"]
