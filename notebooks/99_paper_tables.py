# ---
# jupyter:
#   kernelspec:
#     display_name: mmlkit (.venv)
#     language: python
#     name: mmlkit
# ---

# %% [markdown]
# # 99 - Every table and figure, and the paper's claims
#
# Rebuilds the tables and figures of notebooks 01-06 from the results store (nothing is retrained
# when the runs exist) and sets our numbers next to the published ones that exist, each with its
# source. First the validity checks (convergence, competent modalities, complementarity), which
# never read the claims; then the verdict table, which states, for each claim of the paper, the
# measured effect as mean +- std over seeds with a paired difference, and whether it holds **on
# this benchmark**. A claim that does not hold here is reported as such: the synthetic benchmark is
# a small stand-in, not SSv2.

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
              notebook="99_paper_tables")
study

# %%
from mmlkit.results.paper_tables import paper_tables

res = paper_tables(study)
res.save(output_dir)

# %% [markdown]
# ## Validity: is every stage-1 model converged and a competent model of its modality?

# %%
display(readable(res.tables["validity"]))

# %% [markdown]
# ## Headline: every claim as a paired difference
#
# One row per comparison: A - B in top-1 points on the held-out split, with its 95% interval over
# seeds and videos. The shaded band is +-1 point: an interval inside it is **no effect of practical
# size**; above 0, the claim **holds**; below 0, the **opposite holds**; anything else is
# **inconclusive**. Beside each row, its seeds and the smallest effect it could detect (80% power).

# %% mystnb={"image": {"alt": "Forest plot: each claim's difference A - B in top-1 points with its 95% interval, the band of no practical effect shaded, coloured by verdict, with the seeds and the detectable effect beside each row"}}
res.figures["headline"]

# %% [markdown]
# ## The RGB model at inference, by how it was trained (held-out top-1 %)

# %%
display(readable(res.tables["headline"]))

# %% [markdown]
# ## The paper's claims, and how each is tested here

# %%
# NBVAL_CHECK_OUTPUT
from mmlkit.results import paper
for c in paper.CLAIMS:
    print(f"{c.id}: {c.text}\n    test: {c.test}")

# %% [markdown]
# ## Verdicts on this benchmark (A - B paired by seed and video; 95% interval over seeds and videos)

# %%
display(readable(res.tables["claims"]))

# %% [markdown]
# ### The seed rule, and where the spread comes from
#
# C1, C2 and the C3 core ran the two-stage seed rule (fixed before the run, reading variances only);
# the variance table splits each C1 and C3 comparison's spread into training and evaluation parts.

# %%
display(readable(res.tables["seed_rule"]))
display(readable(res.tables["variance"]))

# %% [markdown]
# ### What the procedure can and cannot see
#
# The whole procedure (first stage, seed rule, interval, verdict), simulated on synthetic paired
# differences whose true effect is known: the interval covers the truth about 95% of the time, a
# null effect reads "holds" about 2.5% of the time, and an effect of +2 points is found almost
# always. With a 1-point half-width and a 1-point margin, a null effect is declared "no effect of
# practical size" only when the interval happens to sit near 0: the rest read "inconclusive".

# %%
display(readable(res.tables["procedure"]))

# %% [markdown]
# ## When MML helps (notebook 06)

# %%
display(readable(res.tables["when_mml_helps_grid"]))

# %% [markdown]
# ## The single RGB model at inference: accuracy against cost
#
# The paper's motivation, measured. Cost per video on this CPU from the .webm file to the scores
# (`python -m benchmarks --only inference`: decoding, optical flow for the Flow model, each network),
# for the RGB model alone and for the ensembles it replaces; accuracy from the runs above. A cost
# is shown only for the model it was measured on.

# %%
display(readable(res.tables["inference_cost"]))

# %%
display(readable(res.tables["accuracy_vs_cost"]))

# %% mystnb={"image": {"alt": "Scatter plot: top-1 against milliseconds per video on a log scale, for the single RGB models and the ensembles they replace"}}
res.figures.get("accuracy_vs_cost")

# %% [markdown]
# ## Published numbers (context; not comparable to the synthetic benchmark)

# %%
# NBVAL_CHECK_OUTPUT
from mmlkit.results import paper
print(paper.published_results().to_string(index=False))
