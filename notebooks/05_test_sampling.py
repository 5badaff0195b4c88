# ---
# jupyter:
#   kernelspec:
#     display_name: mmlkit (.venv)
#     language: python
#     name: mmlkit
# ---

# %% [markdown]
# # 05 - Frame sampling at training and test time
#
# **Claim 4**: training with `random` sampling (each clip dense or uniform with probability 1/2) and
# testing with both uniform and dense views helps.
#
# We train the RGB model with uniform and with random sampling, then test each with several view
# plans: the uniform centre clip, `twice`, one dense clip, 3 dense clips, `both` (dense + uniform),
# and 3 spatial crops. A view plan's score is the mean of the model's logits over its views.

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
              notebook="05_test_sampling")
study

# %%
res = analyses.test_sampling(study)
res.save(output_dir)  # writes tables/*.csv|md and figures/*.png when output_dir is set

# %% [markdown]
# ## What is compared
#
# Training: uniform sampling (a random offset inside each of T equal segments) or random sampling
# (each clip drawn dense or uniform). Test: view plans. The frames each plan reads from a 40-frame
# video (T = 8, dense clips span 32 frames; 0-based indices, `mmlkit.data.sampling`):

# %%
# NBVAL_CHECK_OUTPUT
from mmlkit.data import sampling

for mode, kw in (("uniform", {}), ("uniform", {"twice": True}), ("dense", {"dense_number": 1}),
                 ("random", {"dense_number": 1})):
    views = sampling.test_indices(40, 8, 1, mode, 32, **kw)
    print(f"{mode:7s} {str(kw):22s}", " | ".join(" ".join(f"{i:2d}" for i in v) for v in views))

# %% [markdown]
# ## RGB held-out top-1 (%) by training sampling and test views

# %%
display(readable(res.tables["accuracy"]))

# %% mystnb={"image": {"alt": "Bar chart: held-out top-1 of the RGB model for each test view plan, trained with uniform and with random sampling side by side"}}
res.figures["accuracy"]

# %% [markdown]
# ## Claim 4, measured (paired by seed)

# %%
display(readable(res.tables["claim"]))
