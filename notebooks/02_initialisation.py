# ---
# jupyter:
#   kernelspec:
#     display_name: mmlkit (.venv)
#     language: python
#     name: mmlkit
# ---

# %% [markdown]
# # 02 - Convergence, then initialisation
#
# **Is stage 1 finished?** Mutual learning acts as a regulariser on a model that fits its data; on
# an under-fitted model a pull towards a weaker peer mostly slows learning down. So before any
# verdict every stage-1 model (RGB, Flow, RGBDiff from image pretraining) must have converged, by
# two criteria (`mmlkit.results.validity`): its validation top-1 changes by less than 1.5 points
# over the last quarter of its epochs, and a second round of training from it on the same schedule
# gains less than 3 points. Each modality trains from image pretraining for its own schedule
# (`mmlkit.config.STAGE1_EPOCHS`): the flow stream learns more slowly from image weights, as in TSN's
# reference commands (Flow 340 epochs, RGB 80), and in the default profile Flow needs 80 epochs where
# RGB and RGBDiff pass the checks with 40.
#
# **Claim 2**: proper initialisation improves single-modality models: every model of the final recipe
# starts from an **RGB model already trained on the target data set**, not only from ImageNet.
# For each modality we compare a model started from image pretraining with the same model started
# from the trained RGB model (conv1 converted by the channel-mean rule for Flow and RGBDiff; the head
# kept, since the classes are the same), both trained for **the same number of epochs**: the
# modality's full schedule, as in the paper, where stage 2 trains as long as stage 1
# (`mmlkit.config.FINETUNE_EPOCHS`: 80 epochs for Flow, 40 for RGB and RGBDiff in the default
# profile). "RGB from RGB" is a second round of
# training of the RGB model: the fair baseline for the mutual-learning runs of notebook 03.

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
              notebook="02_initialisation")
study

# %%
res = analyses.initialisation(study)
res.save(output_dir)  # writes tables/*.csv|md and figures/*.png when output_dir is set

# %% [markdown]
# ## What is compared
#
# The same modality started from the image stand-in or from the trained RGB model (stage 2 of the
# recipe), and the second round of the RGB model (the convergence check); the fields that differ
# (seed 0):

# %%
from mmlkit.results.experiments import config_differences

s0 = study.seeds[0]
display(readable(config_differences({"Flow from image": study.single("Flow", s0, init="image"),
                                     "Flow from the RGB model": study.single("Flow", s0, init="rgb"),
                                     "RGB, 2nd round": study.single("RGB", s0, init="self")}, study.results_dir)))

# %% [markdown]
# Starting a Flow model from the RGB model needs a first convolution for 10 input channels (5 flow
# frames x (x, y)) instead of 3: the RGB kernel is averaged over its colour channels and repeated
# (TSN's cross-modality initialisation). On a toy kernel:

# %%
# NBVAL_CHECK_OUTPUT
import torch
from mmlkit.models.backbones import convert_conv1_weight

rgb = torch.arange(2 * 3 * 1 * 1, dtype=torch.float32).reshape(2, 3, 1, 1)  # 2 filters x (R, G, B)
flow = convert_conv1_weight(rgb, 10)
print("RGB kernel (filter x channel):", rgb[:, :, 0, 0].tolist())
print("Flow kernel, 10 channels:      ", flow[:, :, 0, 0].tolist())

# %% [markdown]
# ## Convergence of every stage-1 model (mean over seeds; yes = every seed passes)

# %%
display(readable(res.tables["convergence"]))

# %% [markdown]
# ## The plateau: validation top-1 per epoch (the shaded band is the last quarter), then a
# second round from the final weights (dashed)

# %% mystnb={"image": {"alt": "Validation top-1 against epoch for each modality and seed: stage 1 as solid lines with its last quarter shaded, then the second round as dashed lines"}}
res.figures["plateau"]

# %% [markdown]
# ## The same checks, seed by seed

# %%
display(readable(res.tables["convergence_seeds"]))

# %% [markdown]
# ## Held-out top-1 (%) by modality and initialisation

# %%
display(readable(res.tables["accuracy"]))

# %% mystnb={"image": {"alt": "Bar chart: held-out top-1 of each modality by initialisation (image pretraining or the trained RGB model), mean with one standard deviation and a dot per seed"}}
res.figures["accuracy"]

# %% [markdown]
# ## Claim 2, measured: from-RGB minus from-image, paired by seed and by video
#
# On the held-out split, with the 95% interval over seeds and videos, the detectable effect and one
# of four verdicts. The Flow and RGBDiff rows ran the seed rule (the RGB row is context: a second
# round of training, at the study's seeds):

# %%
display(readable(res.tables["claim"]))
display(readable(res.tables["seed_rule"]))
