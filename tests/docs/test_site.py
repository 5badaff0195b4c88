"""The documentation site: built offline with every warning an error, then opened in a real browser.

The site is built once per module from the repository's ``docs/`` (which links ``papers_results/``
in as ``docs/results``) exactly as ``./run_all.sh docs`` builds it. The browser checks drive
Debian's Chromium (``/usr/bin/chromium``) through Playwright, which downloads no browser here: each
page is opened from disk, and it must raise no console error or script error, request nothing
but files of the site, decode every image, and link only to pages and anchors that exist.
Without Chromium the browser checks skip, unless ``MMLKIT_REQUIRE_BROWSER=1`` (``.ci/run`` sets
it and installs Chromium), where they fail.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# the flags a headless Chromium needs on a machine without a network or a display (root, no sandbox)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
#: the pages the issue names: the landing page and one notebook page; every page is checked too
LANDING, NOTEBOOK = "index.html", "results/notebooks/01_baselines_and_ensembles.html"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           str(REPO / "docs"), str(out)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, f"sphinx-build -W failed:\n{proc.stderr[-4000:]}"
    return out


def _pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)


class _Refs(HTMLParser):
    """Every ``src``/``href`` of a page (what it loads and what it links to), and its element ids."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []  # script src, link[rel=stylesheet|icon|preload] href, img src
        self.links: list[str] = []  # a href
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag in ("script", "img", "iframe", "source") and a.get("src"):
            self.loads.append(a["src"])
        if tag == "link" and a.get("href") and (a.get("rel") or "") in ("stylesheet", "icon", "preload", "modulepreload"):
            self.loads.append(a["href"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])


def _refs(page: Path) -> _Refs:
    r = _Refs()
    r.feed(page.read_text(encoding="utf-8"))
    return r


def test_the_site_builds_and_loads_nothing_from_the_network(site):
    assert (site / LANDING).exists() and (site / NOTEBOOK).exists()
    for page in _pages(site):
        remote = [u for u in _refs(page).loads if urlsplit(u).scheme in ("http", "https") or u.startswith("//")]
        assert not remote, f"{page.relative_to(site)} loads from the network: {remote}"
        text = page.read_text(encoding="utf-8")
        for lib in ("require.js", "mathjax", "MathJax", "cdn."):
            assert lib not in text, f"{page.relative_to(site)} mentions {lib!r}"


def test_every_internal_link_resolves(site):
    ids: dict[Path, set[str]] = {}
    for page in _pages(site):
        for href in _refs(page).links:
            u = urlsplit(href)
            if u.scheme or href.startswith("//") or href.startswith("mailto:"):
                continue  # external links (the theme's credits) are not loads
            target = (page.parent / unquote(u.path)).resolve() if u.path else page
            if target.is_dir():
                target = target / "index.html"
            assert target.exists(), f"{page.relative_to(site)} links to a missing {href!r}"
            if u.fragment and target.suffix == ".html":
                got = ids.setdefault(target, _refs(target).ids)
                assert unquote(u.fragment) in got, f"{page.relative_to(site)} links to a missing anchor {href!r}"


def _browser():
    if not CHROMIUM.exists():
        if os.environ.get("MMLKIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and MMLKIT_REQUIRE_BROWSER=1 (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium; .ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    return sync_api.sync_playwright()


def _alt_texts_asked(notebook: Path) -> list[str]:
    """The alt texts an executed notebook's cells ask for (``mystnb.image.alt`` cell metadata)."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    return [c["metadata"]["mystnb"]["image"]["alt"] for c in nb["cells"]
            if c.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt")]


def test_every_page_opens_cleanly_in_chromium(site):
    pages = _pages(site)
    assert site / LANDING in pages and site / NOTEBOOK in pages
    with _browser() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            for path in pages:
                name = str(path.relative_to(site))
                page = browser.new_page()
                problems: list[str] = []
                page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                        if m.type in ("error", "warning") else None)
                page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
                page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
                page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "blob:", "about:"))
                        else problems.append(f"network request: {r.url}"))
                page.goto(path.as_uri(), wait_until="load")
                images = page.evaluate("Array.from(document.images).map(i => ({src: i.getAttribute('src'), "
                                       "ok: i.complete && i.naturalWidth > 0, alt: i.getAttribute('alt')}))")
                page.close()
                assert not problems, f"{name}: {problems}"
                for img in images:
                    assert img["ok"], f"{name}: image {img['src']} does not decode"
                    assert img["alt"], f"{name}: image {img['src']} has no alt text"
                if name.startswith("results/") and name != "results/README.html":
                    # alt text comes from the notebook's cell metadata; every text it asks for is shown
                    source = REPO / "papers_results" / Path(name).relative_to("results").with_suffix(".ipynb")
                    asked = _alt_texts_asked(source)
                    shown = {i["alt"] for i in images}
                    assert set(asked) <= shown, f"{name}: alt texts not rendered: {set(asked) - shown}"
                else:  # a page of ours: a real description, not the file's name
                    for img in images:
                        assert not re.search(r"\.(png|svg|jpe?g)$", img["alt"]), f"{name}: alt text is a file name"
        finally:
            browser.close()


def test_the_landing_page_and_a_notebook_page_show_their_content(site):
    with _browser() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page()
            page.goto((site / LANDING).as_uri(), wait_until="load")
            assert "mmlkit" in page.title()
            nav = page.evaluate("Array.from(document.querySelectorAll('.sidebar-tree a')).map(a => a.textContent)")
            assert len(nav) >= 8, f"the landing page's navigation lists {nav}"
            page.goto((site / NOTEBOOK).as_uri(), wait_until="load")
            assert page.locator("h1").first.inner_text().startswith("01")
            assert page.evaluate("document.querySelectorAll('div.cell_output img').length") >= 3
        finally:
            browser.close()
