# ---
# jupyter:
#   kernelspec:
#     display_name: mmlkit (.venv)
#     language: python
#     name: mmlkit
# ---

# %% [markdown]
# # 04 - Which modalities to learn from
#
# MML with RGB,Flow / RGB,RGBDiff / RGB,Flow,RGBDiff, every member's accuracy and the RGB model's.
# With three models the released code pulls each model towards the softmax of its peers' **mean
# logits** (`mean_logits`); Deep Mutual Learning instead averages **one KL per peer** (`per_peer`).
# `per_peer=True` below adds that variant for the three models (three more runs per seed; the
# default run leaves it out to stay within its time budget).

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
              notebook="04_modality_sets")
study

# %%
res = analyses.modality_sets(study, per_peer=False)
res.save(output_dir)  # writes tables/*.csv|md and figures/*.png when output_dir is set

# %% [markdown]
# ## The mutual term with two peers
#
# With more than one peer the released code averages the peers' logits first (`mean_logits`);
# Deep Mutual Learning averages one KL per peer (`per_peer`). With one peer they agree; with two
# they differ (toy logits):

# %%
# NBVAL_CHECK_OUTPUT
import torch
from mmlkit.losses import mutual_kl

rgb = torch.tensor([[2.0, 0.5, -1.0]])
flow, diff = torch.tensor([[0.5, 1.5, -1.0]]), torch.tensor([[1.0, -1.0, 1.0]])
for mode in ("mean_logits", "per_peer"):
    print(f"{mode:11s}: one peer {float(mutual_kl(rgb, [flow], mode)):.4f}, "
          f"two peers {float(mutual_kl(rgb, [flow, diff], mode)):.4f}")

# %% [markdown]
# ## Every member of every cohort (held-out top-1 %)

# %%
display(readable(res.tables["accuracy"]))

# %% mystnb={"image": {"alt": "Bar chart: held-out top-1 of every member of the MML cohorts RGB,Flow, RGB,RGBDiff and RGB,Flow,RGBDiff, grouped by cohort and coloured by modality"}}
res.figures["accuracy"]

# %% [markdown]
# ## The RGB member, by cohort, against RGB trained alone (paired by seed)

# %%
display(readable(res.tables["rgb"]))
