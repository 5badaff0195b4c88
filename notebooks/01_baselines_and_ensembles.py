# ---
# jupyter:
#   kernelspec:
#     display_name: mmlkit (.venv)
#     language: python
#     name: mmlkit
# ---

# %% [markdown]
# # 01 - Baselines and ensembles (the paper's motivation)
#
# **Claim 1**: an RGB model ensembled with the same model trained on another modality (optical flow)
# is clearly better than the RGB model alone; but several modalities at inference are expensive.
#
# We train one TSM model per modality (RGB, Flow, RGBDiff), each from image pretraining, once per
# seed, and score every subset of them as an ensemble (sum of logits). On real SSv2 image
# pretraining is ImageNet; on the synthetic benchmark it is a stand-in: the same backbone trained on
# single frames of the generator, labelled by appearance only.
#
# Before any claim, the checks that make the experiment valid (they never look at the claims): each
# modality must be a **competent model of its data** (it fits its training videos), and the
# modalities must carry **complementary evidence** (an ensemble beats its better member).

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
              notebook="01_baselines_and_ensembles")
study

# %%
res = analyses.baselines(study)
res.save(output_dir)  # writes tables/*.csv|md and figures/*.png when output_dir is set

# %% [markdown]
# ## What is compared
#
# One model per modality, each from the image stand-in; their configs differ only in these fields
# (seed 0; `<store>` is the results store). Flow trains longer (`mmlkit.config.STAGE1_EPOCHS`):

# %%
from mmlkit.results.experiments import config_differences

singles = {m: study.single(m, study.seeds[0], init="image") for m in ("RGB", "Flow", "RGBDiff")}
display(readable(config_differences(singles, study.results_dir)))

# %% [markdown]
# ## The image-pretraining stand-in
# ImageNet's role is to give the RGB backbone a sense of objects before it sees video. The stand-in
# learns the object's shape from single frames; its held-out accuracy says how much it learned. It
# is stored in the results store under the hash of its whole config and the generator's version, so
# `python -m mmlkit pretrain` and these notebooks use the same file.

# %%
display(readable(res.tables["pretraining"]))

# %% [markdown]
# ## Single models: validation and training top-1 (%), mean +- std over seeds
# `train top-1` scores each model on its own training videos (centre view, no augmentation, dropout
# off): a model that fits its data scores >= 90 there (`mmlkit.results.validity.FIT_TOP1`).

# %%
display(readable(res.tables["accuracy"]))

# %% mystnb={"image": {"alt": "Bar chart: held-out top-1 of the RGB, Flow and RGBDiff models from image pretraining, mean with one standard deviation across seeds and a dot per seed"}}
res.figures["accuracy"]

# %% [markdown]
# ## Every ensemble of the three models

# %%
display(readable(res.tables["ensembles"]))

# %% mystnb={"image": {"alt": "Bar chart: held-out top-1 of each single model and of every ensemble of them (sum of logits), mean over seeds, coloured by the number of models"}}
res.figures["ensembles"]

# %% [markdown]
# ## Complementarity: each ensemble against its better member (paired by seed)
# The interval over seeds x videos is a two-way bootstrap (seeds resampled, then the validation
# videos, the same videos for every seed).

# %%
display(readable(res.tables["complementarity"]))

# %% [markdown]
# ## Claim 1, measured: RGB+Flow ensemble minus RGB alone, paired by seed and by video
#
# On the labelled held-out split. The 95% interval covers both sources of spread (training seeds
# and the finite set of videos); `detectable (80% power)` is the smallest true effect this
# comparison would have found; the verdict is one of four (holds, opposite holds, no effect of
# practical size within +-1 point, inconclusive).

# %%
display(readable(res.tables["claim"]))

# %% [markdown]
# The number of seeds came from a rule fixed before the run: the first seeds' variances (never the
# difference) give the seeds whose 95% interval is at most +-1 point wide. And where the spread
# comes from, by a random-effects decomposition over seeds and videos:

# %%
display(readable(res.tables["seed_rule"]))
display(readable(res.tables["variance"]))

# %% [markdown]
# ## Which classes each modality sees (per-class held-out top-1, mean over seeds)

# %% mystnb={"image": {"alt": "Heat map: per-class held-out top-1 of RGB, Flow and RGBDiff, one row per class with its full name, each cell labelled with its percentage"}}
res.figures["per_class"]

# %% [markdown]
# ## Training curves (cross-entropy, running train top-1 under dropout and augmentation, validation top-1)

# %% mystnb={"image": {"alt": "Training curves of the RGB, Flow and RGBDiff models, first seed: cross-entropy, running train top-1 and validation top-1 against epoch"}}
res.figures["curves"]

# %% [markdown]
# ## Where the RGB model errs (confusion matrix, first seed)

# %% mystnb={"image": {"alt": "Row-normalised confusion matrix of the RGB model, first seed: one row per true class with its name, one column per predicted class index"}}
res.figures["confusion"]
