"""Sphinx configuration of mmlkit's documentation site: ``./run_all.sh docs`` builds it into ``site/``.

Why Sphinx with MyST-NB (and the Furo theme): Sphinx's ``-W`` makes every warning an error, which
is how a broken link or a missing page fails the build; MyST-NB renders the executed notebooks of
``papers_results/`` as they are (``nb_execution_mode = "off"``: the site shows what the run
produced, it never reruns a cell); and Furo ships all its CSS, JavaScript and icons in its wheel,
so the site loads nothing from the network when it is built or read. The pages are MyST
Markdown. ``docs/results`` is a link to ``papers_results/``, so the results README and the
executed notebooks are pages of the site without copies.
"""

from __future__ import annotations

project = "mmlkit"
author = "the mmlkit maintainers"
copyright = "2026, the mmlkit maintainers"  # noqa: A001 (Sphinx's name)

extensions = ["myst_nb"]
# The pages, and from papers_results/ only what the site shows: its README, the executed
# notebooks of the full run, of another draw's run and of the first decisions on draw 0 (its
# earlier runs' folders and its tables stay files of the repository).
include_patterns = ["*.md", "results/README.md", "results/notebooks/*.ipynb",
                    "results/draw-*/notebooks/*.ipynb", "results/precision-draw0/decided/notebooks/*.ipynb"]
exclude_patterns = ["_build", "screenshots", "_static"]
root_doc = "index"

# MyST: no math extension on purpose -- no page has formulas, and MathJax would be fetched from
# a CDN (the site must load nothing from the network).
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "off"
nb_ipywidgets_js = {}  # no require.js / widget manager from a CDN
nb_output_stderr = "remove"  # a run's stray stderr (progress, kernel warnings) is not content

html_theme = "furo"
html_title = "mmlkit"
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
html_static_path = ["_static"]
html_css_files = ["mmlkit.css"]  # wide notebook tables scroll inside their cell
