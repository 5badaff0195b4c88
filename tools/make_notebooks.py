"""The source of notebooks/*.ipynb: edit the cells here, then run `.venv/bin/python tools/make_notebooks.py`.

Notebooks are written without outputs, except the cells marked `# NBVAL_CHECK_OUTPUT`, whose
reference output (deterministic: claim texts, published numbers) is produced by running them.
"""

import nbformat as nbf
from pathlib import Path

NB = Path(__file__).resolve().parents[1] / "notebooks"

PARAMS = '''# Parameters (papermill overrides these; `./run_all.sh test` sets MMLKIT_PROFILE=smoke for nbval)
import os
profile = os.environ.get("MMLKIT_PROFILE", "default")  # smoke | default | paper
seeds = None             # training seeds; None: [0] in the smoke profile, [0, 1, 2] otherwise
dataset = "synthetic"    # synthetic | somethingv2 | a path to an SSv2-format folder
data_root = None         # the data root (SSv2: the folder holding labels.json)
device = "cpu"           # cpu | cuda
workers = 0              # data loader processes
results_dir = None       # the runs store (default: results/<profile> in the repository)
synth_seed = 0           # the draw of the synthetic benchmark (another draw: is a verdict a property of one?)
output_dir = None        # papers_results/ when run by ./run_all.sh; None: show, do not write'''

SETUP = '''%matplotlib inline
import torch
from IPython.display import display
from mmlkit.results import analyses
from mmlkit.results.experiments import Study
from mmlkit.results.when_mml_helps import when_mml_helps

torch.set_num_threads(os.cpu_count() or 1)
study = Study(profile=profile, seeds=seeds, dataset=dataset, data_root=data_root, device=device,
              workers=workers, results_dir=results_dir, synth_seed=synth_seed)
study'''


def md(text):
    return nbf.v4.new_markdown_cell(text.strip())


def code(text, tags=()):
    c = nbf.v4.new_code_cell(text.strip())
    if tags:
        c.metadata["tags"] = list(tags)
    return c


def checked(src):
    """A cell nbval compares (# NBVAL_CHECK_OUTPUT); its reference output is produced by running it."""
    import subprocess, sys
    body = "# NBVAL_CHECK_OUTPUT\n" + src.strip()
    out = subprocess.run([sys.executable, "-c", body], capture_output=True, text=True, check=True).stdout
    c = code(body)
    c.execution_count = 1  # nbval skips a reference cell without an execution count as "unrun"
    c.outputs = [nbf.v4.new_output("stream", name="stdout", text=out)]
    return c


def notebook(name, cells):
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "mmlkit", "display_name": "mmlkit (.venv)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, c in enumerate(cells):
        c["id"] = f"cell-{i:02d}"  # stable ids: regenerating gives no diff
    nb.cells = cells
    nbf.write(nb, NB / f"{name}.ipynb")


def params_cells(seeds=None):
    """The parameters cell (papermill overrides it) and the set-up cell; ``seeds``: this notebook's
    default seeds when they differ from the Study's."""
    params = PARAMS if seeds is None else PARAMS.replace(
        "seeds = None             # training seeds; None: [0] in the smoke profile, [0, 1, 2] otherwise",
        f"seeds = {seeds!r}{' ' * max(1, 17 - len(repr(seeds)))}# training seeds (./run_all.sh passes [0, 1, 2]); one seed "
        "keeps a first run under 15 minutes")
    assert params != PARAMS or seeds is None
    return [code(params, tags=("parameters",)), code(SETUP)]


def analysis_cells(call, show):
    """Run an analysis, show its tables and figures, save them when output_dir is set."""
    cells = [code(f"res = {call}\nres.save(output_dir)  # writes tables/*.csv|md and figures/*.png when output_dir is set")]
    for kind, key, text in show:
        if text:
            cells.append(md(text))
        if kind == "table":
            cells.append(code(f'display(res.tables["{key}"])'))
        else:
            cells.append(code(f'res.figures["{key}"]'))
    return cells


notebook("00_data_tour", [
    md("""
# 00 - A tour of the data

Something-Something-v2 (SSv2) is hard because its classes live in **motion and temporal order**
("Moving something from left to right" vs "... from right to left"), not in what the objects look
like. mmlkit's embedded benchmark is a small, synthetic stand-in with the same property, written in
the real SSv2 on-disk layout so that the real loaders read it. This notebook shows the data, the
frame samplers of the paper, and the three input modalities (RGB, optical flow, RGB differences).
"""),
    *params_cells(),
    md("""
## The benchmark
Each row of the montage is one class: a few frames of one example clip. Objects, colours, textures,
sizes and backgrounds are drawn independently of the class, so a single frame does not tell it.
"""),
    code("tour = analyses.data_tour(study)\ntour.save(output_dir)\ndisplay(tour.tables['splits'])"),
    code('tour.figures["montage"]'),
    md("""
## Classes, and the left/right pairs a horizontal flip would swap
A flip turns "left to right" into "right to left", so mmlkit only flips together with a label swap;
the pairs are found from the templates themselves.
"""),
    code('display(tour.tables["classes"])'),
    md("""
## Frame samplers (method.md)
`uniform` (TSN) splits the video into T segments and takes one frame per segment; `dense` takes T
frames with a fixed stride from a window of `dense_length` frames; `random` trains with either, with
probability 1/2. At test time, `twice` adds the uniform clip shifted by half a segment, `dense x n`
spreads n dense windows over the video, and `both` (the released code's `--random_sample` at test)
is the dense clips followed by the uniform one. Each line below is one view; dots are frame indices.
"""),
    code('tour.figures["samplers"]'),
    md("""
## Three modalities of the same clip
RGB frames; optical flow (x and y displacement, stored as 8-bit images, grey = no motion);
RGB differences (frame[k] - frame[k-1], which the model computes from 6 frames per segment). All
peers see the same frames and the same crop. The benchmark is rendered at 48 px; flow is computed
there (Farneback) and frames and flow are stored at the network's 32 px, vectors scaled to it and
clipped at +-5 px.
"""),
    code('tour.figures["modalities"]'),
    md("""
## Is the flow right? The stored flow next to the generator's exact flow
The generator knows every object's pose and the camera's offset in every frame, so the true flow
of the moving object is known exactly. Below, the flow the Flow model reads for this clip, next to
the truth on the object's pixels (blank elsewhere), and the endpoint error over the whole clip
against that of predicting no motion. `benchmarks/bench_flow_quality.py` measures this over
clips of every class, for several methods and render sizes (the table in the README).
"""),
    code('tour.figures["flow_truth"]'),
    code('display(tour.tables["flow_truth"])'),
])

notebook("01_baselines_and_ensembles", [
    md("""
# 01 - Baselines and ensembles (the paper's motivation)

**Claim 1**: an RGB model ensembled with the same model trained on another modality (optical flow)
is clearly better than the RGB model alone; but several modalities at inference are expensive.

We train one TSM model per modality (RGB, Flow, RGBDiff), each from image pretraining, once per
seed, and score every subset of them as an ensemble (sum of logits). On real SSv2 image
pretraining is ImageNet; on the synthetic benchmark it is a stand-in: the same backbone trained on
single frames of the generator, labelled by appearance only.

Before any claim, the checks that make the experiment valid (they never look at the claims): each
modality must be a **competent model of its data** (it fits its training videos), and the
modalities must carry **complementary evidence** (an ensemble beats its better member).
"""),
    *params_cells(),
    *analysis_cells("analyses.baselines(study)", [
        ("table", "pretraining", """## The image-pretraining stand-in
ImageNet's role is to give the RGB backbone a sense of objects before it sees video. The stand-in
learns the object's shape from single frames; its held-out accuracy says how much it learned. It
is stored in the results store under the hash of its whole config and the generator's version, so
`python -m mmlkit pretrain` and these notebooks use the same file."""),
        ("table", "accuracy", """## Single models: validation and training top-1 (%), mean +- std over seeds
`train top-1` scores each model on its own training videos (centre view, no augmentation, dropout
off): a model that fits its data scores >= 90 there (`mmlkit.results.validity.FIT_TOP1`)."""),
        ("figure", "accuracy", None),
        ("table", "ensembles", "## Every ensemble of the three models"),
        ("figure", "ensembles", None),
        ("table", "complementarity", """## Complementarity: each ensemble against its better member (paired by seed)
The interval over seeds x videos is a two-way bootstrap (seeds resampled, then the validation
videos, the same videos for every seed)."""),
        ("table", "claim", "## Claim 1, measured: RGB+Flow ensemble minus RGB alone, paired by seed"),
        ("figure", "per_class", "## Which classes each modality sees (per-class validation top-1, mean over seeds)"),
        ("figure", "curves", "## Training curves (cross-entropy, running train top-1 under dropout and augmentation, validation top-1)"),
        ("figure", "confusion", "## Where the RGB model errs (confusion matrix, first seed)"),
    ]),
])

notebook("02_initialisation", [
    md("""
# 02 - Convergence, then initialisation

**Is stage 1 finished?** Mutual learning acts as a regulariser on a model that fits its data; on
an under-fitted model a pull towards a weaker peer mostly slows learning down. So before any
verdict every stage-1 model (RGB, Flow, RGBDiff from image pretraining) must have converged, by
two criteria (`mmlkit.results.validity`): its validation top-1 changes by less than 1.5 points
over the last quarter of its epochs, and a second round of training from it on the same schedule
gains less than 3 points. Each modality trains from image pretraining for its own schedule
(`mmlkit.config.STAGE1_EPOCHS`): the flow stream learns more slowly from image weights, as in TSN's
reference commands (Flow 340 epochs, RGB 80), and in the default profile Flow needs 80 epochs where
RGB and RGBDiff pass the checks with 40.

**Claim 2**: proper initialisation improves single-modality models: every model of the final recipe
starts from an **RGB model already trained on the target data set**, not only from ImageNet.
For each modality we compare a model started from image pretraining with the same model started
from the trained RGB model (conv1 converted by the channel-mean rule for Flow and RGBDiff; the head
kept, since the classes are the same), both trained for **the same number of epochs**: the
modality's full schedule, as in the paper, where stage 2 trains as long as stage 1
(`mmlkit.config.FINETUNE_EPOCHS`: 80 epochs for Flow, 40 for RGB and RGBDiff in the default
profile). "RGB from RGB" is a second round of
training of the RGB model: the fair baseline for the mutual-learning runs of notebook 03.
"""),
    *params_cells(),
    *analysis_cells("analyses.initialisation(study)", [
        ("table", "convergence", "## Convergence of every stage-1 model (mean over seeds; yes = every seed passes)"),
        ("figure", "plateau", """## The plateau: validation top-1 per epoch (the shaded band is the last quarter), then a
second round from the final weights (dashed)"""),
        ("table", "convergence_seeds", "## The same checks, seed by seed"),
        ("table", "accuracy", "## Validation top-1 (%) by modality and initialisation"),
        ("figure", "accuracy", None),
        ("table", "claim", "## Claim 2, measured: from-RGB minus from-image, paired by seed"),
    ]),
])

notebook("03_ml_vs_mml", [
    md("""
# 03 - Mutual learning (ML) vs mutual modality learning (MML)

**Claim 3**: models of *different modalities* trained together, each pulled towards its peers'
predictions, improve the single RGB model further, beyond plain mutual learning between two RGB
models.

Each model's loss is `CE(z_i, y) + KL(softmax(mean of peers' logits) || softmax(z_i))`. We train,
from the same trained RGB model and for the same number of epochs (as long as the MML cohort
needs: the Flow peer's schedule, 80 epochs in the default profile): the RGB model alone (a second
round), RGB with an RGB peer (ML), and RGB with a Flow peer (MML), and test **the RGB model alone**
in every case: MML costs nothing at inference.
"""),
    *params_cells(),
    *analysis_cells("analyses.ml_vs_mml(study)", [
        ("table", "accuracy", "## The RGB model's validation accuracy, and its peers'"),
        ("figure", "accuracy", None),
        ("table", "claim", "## Claim 3, measured (paired by seed)"),
        ("figure", "curves", "## Training curves of the MML cohort: cross-entropy and the mutual KL term"),
        ("figure", "per_class", "## Per-class gain of the MML RGB model over the RGB model trained alone"),
    ]),
])

notebook("04_modality_sets", [
    md("""
# 04 - Which modalities to learn from

MML with RGB,Flow / RGB,RGBDiff / RGB,Flow,RGBDiff, every member's accuracy and the RGB model's.
With three models the released code pulls each model towards the softmax of its peers' **mean
logits** (`mean_logits`); Deep Mutual Learning instead averages **one KL per peer** (`per_peer`).
`per_peer=True` below adds that variant for the three models (three more runs per seed; the
default run leaves it out to stay within its time budget).
"""),
    *params_cells(),
    *analysis_cells("analyses.modality_sets(study, per_peer=False)", [
        ("table", "accuracy", "## Every member of every cohort (validation top-1 %)"),
        ("figure", "accuracy", None),
        ("table", "rgb", "## The RGB member, by cohort, against RGB trained alone (paired by seed)"),
    ]),
])

notebook("05_test_sampling", [
    md("""
# 05 - Frame sampling at training and test time

**Claim 4**: training with `random` sampling (each clip dense or uniform with probability 1/2) and
testing with both uniform and dense views helps.

We train the RGB model with uniform and with random sampling, then test each with several view
plans: the uniform centre clip, `twice`, one dense clip, 3 dense clips, `both` (dense + uniform),
and 3 spatial crops. A view plan's score is the mean of the model's logits over its views.
"""),
    *params_cells(),
    *analysis_cells("analyses.test_sampling(study)", [
        ("table", "accuracy", "## RGB validation top-1 (%) by training sampling and test views"),
        ("figure", "accuracy", None),
        ("table", "claim", "## Claim 4, measured (paired by seed)"),
    ]),
])

notebook("mml_rgb_flow", [
    md("""
# The paper's minimal recipe: mutual modality learning with RGB and Flow

1. Train an RGB model from image pretraining (ImageNet on SSv2; a stand-in on the synthetic benchmark).
2. Train an RGB model and a Flow model **mutually**, both initialised from the model of step 1
   (the Flow model's conv1 is converted by the channel-mean rule).
3. Keep the RGB model for inference.

`papermill notebooks/mml_rgb_flow.ipynb out.ipynb` runs this on the embedded benchmark with no
other argument (one seed by default; add `--log-output` to watch the training progress on the
terminal, or `-p seeds '[0, 1, 2]'` for three); `-p dataset somethingv2 -p data_root $SSV2 -p
profile paper -p device cuda` runs it on real Something-Something-v2. The same steps on the
command line:

```bash
python -m mmlkit train synthetic RGB --out runs/rgb
python -m mmlkit train synthetic RGB,Flow --tune_from runs/rgb/model0_RGB.pt --out runs/mml
python -m mmlkit test synthetic --weights runs/mml/model0_RGB.pt
```
"""),
    *params_cells(seeds=[0]),
    md("## Step 1: the RGB model, from image pretraining"),
    code('rgb = [study.run(study.single("RGB", s, init="image")) for s in study.seeds]\nrgb[0].logs().tail()'),
    md("## Step 2: RGB and Flow, mutually, both from the step-1 model"),
    code('mml = [study.run(study.cohort(("RGB", "Flow"), s, init="rgb")) for s in study.seeds]\nmml[0].logs().tail()'),
    md("## Step 3: the RGB model alone at inference"),
    code('res = analyses.recipe(study, rgb, mml)\nres.save(output_dir)\ndisplay(res.tables["recipe"])'),
    code('res.figures["recipe"]'),
    md("""
The table compares the RGB model after MML with the RGB model of step 1 and with an RGB model
trained for the same extra epochs from step 1 without a peer (the fair baseline), each as mean +-
std over seeds, and the RGB+Flow ensemble that MML tries to fold into one model.
"""),
])

notebook("06_when_mml_helps", [
    md("""
# 06 - When does mutual modality learning help?

A practitioner's question before paying for a second modality at training time: **in which regime
does a peer improve the RGB model?** We measure the MML gain of the RGB model (MML's RGB model
minus the same RGB model trained as long without a peer, paired by seed, with its 95% intervals)
on a small grid:

- **regime**: `converged` (the profile's schedule for stage 1 and stage 2, as in the paper) and
  `short` (the whole recipe at a quarter of the epochs: an under-fitted RGB model);
- **peer**: an RGB peer (plain mutual learning), a Flow peer and an RGBDiff peer, each started
  from the RGB model of its regime; in the converged regime stage 2 lasts as long as the peer's
  modality needs (80 epochs with Flow), and the RGB model alone trains as long as its pair.

Next to each gain, what might explain it, measured rather than assumed: the peer's strength (the
peer trained alone minus RGB trained alone), the ensemble gain of the two models trained alone
(complementarity) and the RGB model's train - validation gap (room for a regulariser).
"""),
    *params_cells(),
    *analysis_cells("when_mml_helps(study)", [
        ("table", "grid", "## The grid (points; MML gain = MML's RGB model minus RGB alone)"),
        ("figure", "grid", None),
        ("figure", "scatter", "## MML gain against the peer's strength"),
    ]),
])

notebook("99_paper_tables", [
    md("""
# 99 - Every table and figure, and the paper's claims

Rebuilds the tables and figures of notebooks 01-06 from the results store (nothing is retrained
when the runs exist) and sets our numbers next to the published ones that exist, each with its
source. First the validity checks (convergence, competent modalities, complementarity), which
never read the claims; then the verdict table, which states, for each claim of the paper, the
measured effect as mean +- std over seeds with a paired difference, and whether it holds **on
this benchmark**. A claim that does not hold here is reported as such: the synthetic benchmark is
a small stand-in, not SSv2.
"""),
    *params_cells(),
    code('res = analyses.paper_tables(study)\nres.save(output_dir)'),
    md("## Validity: is every stage-1 model converged and a competent model of its modality?"),
    code('display(res.tables["validity"])'),
    md("## Headline: the RGB model at inference, by how it was trained (validation top-1 %)"),
    code('display(res.tables["headline"])', tags=()),
    code('res.figures["headline"]'),
    md("## The paper's claims, and how each is tested here"),
    checked('from mmlkit.results import paper\nfor c in paper.CLAIMS:\n    print(f"{c.id}: {c.text}\\n    test: {c.test}")'),
    md("## Verdicts on this benchmark (A - B paired by seed; the verdict uses the 95% CI over seeds)"),
    code('display(res.tables["claims"])'),
    md("## When MML helps (notebook 06)"),
    code('display(res.tables["when_mml_helps_grid"])'),
    md("""
## The single RGB model at inference: accuracy against cost

The paper's motivation, measured. Cost per video on this CPU from the .webm file to the scores
(`python -m benchmarks --only inference`: decoding, optical flow for the Flow model, each network),
for the RGB model alone and for the ensembles it replaces; accuracy from the runs above. A cost
is shown only for the model it was measured on.
"""),
    code('display(res.tables["inference_cost"])'),
    code('display(res.tables["accuracy_vs_cost"])'),
    code('res.figures.get("accuracy_vs_cost")'),
    md("## Published numbers (context; not comparable to the synthetic benchmark)"),
    checked('from mmlkit.results import paper\nprint(paper.published_results().to_string(index=False))'),
])
print("wrote", sorted(p.name for p in NB.glob("*.ipynb")))
