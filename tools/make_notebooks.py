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
output_dir = None        # papers_results/ when run by ./run_all.sh; None: show, do not write'''

SETUP = '''%matplotlib inline
import torch
from IPython.display import display
from mmlkit.results import analyses
from mmlkit.results.experiments import Study

torch.set_num_threads(os.cpu_count() or 1)
study = Study(profile=profile, seeds=seeds, dataset=dataset, data_root=data_root, device=device,
              workers=workers, results_dir=results_dir)
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


def params_cells():
    return [code(PARAMS, tags=("parameters",)), code(SETUP)]


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
RGB frames; optical flow (x and y displacement, clipped at +-20 px and stored as 8-bit images, grey
= no motion); RGB differences (frame[k] - frame[k-1], which the model computes from 6 frames per
segment). All peers see the same frames and the same crop.
"""),
    code('tour.figures["modalities"]'),
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
"""),
    *params_cells(),
    *analysis_cells("analyses.baselines(study)", [
        ("table", "accuracy", "## Single models (validation top-1 / top-5 %, mean +- std over seeds)"),
        ("figure", "accuracy", None),
        ("table", "ensembles", "## Every ensemble of the three models"),
        ("figure", "ensembles", None),
        ("table", "claim", "## Claim 1, measured: RGB+Flow ensemble minus RGB alone, paired by seed"),
        ("figure", "curves", "## Training curves (cross-entropy per epoch)"),
        ("figure", "confusion", "## Where the RGB model errs (confusion matrix, first seed)"),
    ]),
])

notebook("02_initialisation", [
    md("""
# 02 - Initialisation

**Claim 2**: proper initialisation improves single-modality models: every model of the final recipe
starts from an **RGB model already trained on the target data set**, not only from ImageNet.

For each modality we compare a model started from image pretraining with the same model started
from the trained RGB model of notebook 01 (conv1 converted by the channel-mean rule for Flow and
RGBDiff; the head kept, since the classes are the same). A model started from the RGB model is
trained for the stage-2 schedule (`mmlkit.config.FINETUNE_EPOCHS`: half the schedule in the
`default` profile, the full one in `paper`), and the claim is tested against the same model from
image pretraining trained for **the same number of epochs**. "RGB from RGB" is a second round of
training of the RGB model: the fair baseline for the mutual-learning runs of notebook 03.
"""),
    *params_cells(),
    *analysis_cells("analyses.initialisation(study)", [
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
from the same trained RGB model and for the same stage-2 schedule: the RGB model alone (a second
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
Both are compared here.
"""),
    *params_cells(),
    *analysis_cells("analyses.modality_sets(study)", [
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
other argument; `-p dataset somethingv2 -p data_root $SSV2 -p profile paper -p device cuda` runs it
on real Something-Something-v2. The same steps on the command line:

```bash
python -m mmlkit train synthetic RGB --out runs/rgb
python -m mmlkit train synthetic RGB,Flow --tune_from runs/rgb/model0_RGB.pt --out runs/mml
python -m mmlkit test synthetic --weights runs/mml/model0_RGB.pt
```
"""),
    *params_cells(),
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

notebook("99_paper_tables", [
    md("""
# 99 - Every table and figure, and the paper's claims

Rebuilds the tables and figures of notebooks 01-05 from the results store (nothing is retrained
when the runs exist) and sets our numbers next to the published ones that exist, each with its
source. The verdict table states, for each claim of the paper, the measured effect as mean +- std
over seeds with a paired difference, and whether it holds **on this benchmark**. A claim that does
not hold here is reported as such: the synthetic benchmark is a small stand-in, not SSv2.
"""),
    *params_cells(),
    code('res = analyses.paper_tables(study)\nres.save(output_dir)'),
    md("## Headline: the RGB model at inference, by how it was trained (validation top-1 %)"),
    code('display(res.tables["headline"])', tags=()),
    code('res.figures["headline"]'),
    md("## The paper's claims, and how each is tested here"),
    checked('from mmlkit.results import paper\nfor c in paper.CLAIMS:\n    print(f"{c.id}: {c.text}\\n    test: {c.test}")'),
    md("## Verdicts on this benchmark (A - B paired by seed; the verdict uses the 95% CI over seeds)"),
    code('display(res.tables["claims"])'),
    md("## Published numbers (context; not comparable to the synthetic benchmark)"),
    checked('from mmlkit.results import paper\nprint(paper.published_results().to_string(index=False))'),
])
print("wrote", sorted(p.name for p in NB.glob("*.ipynb")))
