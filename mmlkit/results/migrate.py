"""Older stores' addresses, and moving their runs to the portable ones.

Stores made before checkpoint paths entered a run's hash relative to the store named their runs
by the digest of the config as it was, absolute paths included, so a moved store lost its runs.
:meth:`RunStore.run_dir <mmlkit.results.store.RunStore.run_dir>` still finds such a folder;
:func:`migrate_store` renames every run of a store to its portable address.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from mmlkit.config import RunConfig, portable_path, store_path
from mmlkit.fileio import write_json
from mmlkit.results.store import STORE_VERSION, StoreError, _read_json, _run_stem, run_hash

if TYPE_CHECKING:
    from mmlkit.results.store import RunStore


def legacy_run_hash(cfg: RunConfig) -> str:
    """The address older stores used: the digest of the config as it is, absolute checkpoint
    paths included (so a moved store was not found). Still looked up, never written."""
    return hashlib.sha256(f"{cfg.digest(portable=False)}:{STORE_VERSION}".encode()).hexdigest()[:12]


def migrate_store(store: "RunStore") -> list[tuple[str, str]]:
    """Move every run to its portable address (:func:`run_hash`), so the store can move.

    Runs an older store made are named by :func:`legacy_run_hash` and name their checkpoints by
    absolute path. Each one's ``tune_from`` and ``model.pretrained`` are
    pointed into this store (a stage-2 run's to its stage-1 run's new folder), its
    ``config.json`` and ``run.json`` hash rewritten, and its folder renamed. Running it again
    changes nothing.

    Returns:
        (old, new) folder names of the runs renamed.

    Raises:
        StoreError: a run's portable folder already exists (two copies of one run).
    """
    base = store.root / "runs"
    renamed: dict[str, str] = {}

    def here(path: str | None) -> str | None:  # a store path, into this store, renamed runs followed
        return store_path(path, store.root, renamed)

    def starts_from_a_run(d: Path) -> bool:
        raw = _read_json(d / "config.json") or {}
        return (portable_path(raw.get("tune_from")) or "").startswith("<store>/runs/")

    origin: dict[str, str] = {}  # current folder name -> the name it had before migrate()
    for _ in range(8):  # a run moves after the run it starts from: a few passes reach the fixpoint
        changed = False
        for d in sorted(base.iterdir(), key=lambda d: (starts_from_a_run(d), d.name)) if base.exists() else []:
            raw = _read_json(d / "config.json")
            if raw is None:
                continue
            cfg = RunConfig.from_dict(raw)
            new_cfg = cfg.with_checkpoint_paths(here)
            target = d.with_name(f"{_run_stem(cfg)}{run_hash(new_cfg)}")
            if new_cfg != cfg:
                write_json(d / "config.json", new_cfg.to_dict())
                changed = True
            if target != d:
                if target.exists():
                    raise StoreError(f"{d} and {target} hold the same run; keep one of them")
                d.rename(target)
                renamed[d.name] = target.name
                origin[target.name] = origin.pop(d.name, d.name)
                info = _read_json(target / "run.json")
                if info is not None:
                    write_json(target / "run.json", {**info, "hash": run_hash(new_cfg)})
                changed = True
        if not changed:
            break
    return [(old, new) for new, old in origin.items()]
