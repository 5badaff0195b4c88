"""The results store (content-addressed runs), published numbers and claims, tables and figures.

``plots`` (matplotlib) is imported on demand: ``from mmlkit.results import plots``.
"""

from mmlkit.results.paper import CLAIMS, PUBLISHED, Claim, claims_frame, published_results
from mmlkit.results.store import STORE_VERSION, Run, RunStore, StoreError, load_or_run, run_hash
from mmlkit.results.tables import (DOES_NOT_HOLD, HOLDS, INCONCLUSIVE, claim_verdict, paired_difference,
                                   seed_summary, to_markdown, write_table)

__all__ = [
    "CLAIMS", "PUBLISHED", "Claim", "claims_frame", "published_results", "STORE_VERSION", "Run", "RunStore",
    "StoreError", "load_or_run", "run_hash", "DOES_NOT_HOLD", "HOLDS", "INCONCLUSIVE", "claim_verdict",
    "paired_difference", "seed_summary", "to_markdown", "write_table",
]
