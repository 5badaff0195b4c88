"""The results store (content-addressed runs), published numbers and claims, tables and figures.

``plots`` (matplotlib) is imported on demand: ``from mmlkit.results import plots``.
"""

from mmlkit.results.paper import CLAIMS, PUBLISHED, Claim, claims_frame, published_results
from mmlkit.results.store import STORE_VERSION, Run, RunStore, StoreError, load_or_run, run_hash
from mmlkit.results.precision import HOLDS, INCONCLUSIVE, NO_EFFECT, OPPOSITE, VERDICTS, decide, verdict
from mmlkit.results.tables import seed_summary, to_markdown, write_table

__all__ = [
    "CLAIMS", "PUBLISHED", "Claim", "claims_frame", "published_results", "STORE_VERSION", "Run", "RunStore",
    "StoreError", "load_or_run", "run_hash", "HOLDS", "INCONCLUSIVE", "NO_EFFECT", "OPPOSITE",
    "VERDICTS", "decide", "verdict", "seed_summary", "to_markdown", "write_table",
]
