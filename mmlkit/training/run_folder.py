"""A run folder belongs to one configuration: nothing replaces it unless the user asks.

``train(cfg, out_dir)`` writes ``config.json`` first, so a folder that already holds one is
somebody's run. :func:`check_run_folder` compares that config with the one asked for, before
any work:

==========================  =================  ======================  ========================
folder holds                ``resume``         ``overwrite``           then
==========================  =================  ======================  ========================
nothing (or no config)      any                any                     train
another configuration       any                no                      error naming the fields
another configuration       any                yes                     train from scratch
this one, finished          yes                no                      return the stored run
this one, finished/partial  no                 no                      error: --resume or --overwrite
this one, partial           yes                no                      continue
==========================  =================  ======================  ========================
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mmlkit.config import ConfigError, RunConfig

_HOW = "choose another --out (out_dir), or pass --overwrite (overwrite=True) to replace it"


def config_changes(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """``["optim.epochs: 40 -> 80", ...]``: the leaves of two nested config dicts that differ."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_changes(a, b, f"{prefix}{key}.")
        elif json.dumps(a) != json.dumps(b):
            out.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return out


def check_run_folder(cfg: RunConfig, out_dir: str | Path, *, resume: bool, overwrite: bool) -> bool:
    """Refuse to train ``cfg`` into ``out_dir`` when that would replace a run the user did not
    ask to replace (see the module's table).

    Returns:
        True when ``out_dir`` holds a finished run of ``cfg`` and ``resume`` asks for it (the
        caller returns it without training).

    Raises:
        ConfigError: the folder holds a run of another configuration, an unreadable
            ``config.json``, or a run of this configuration without ``resume``/``overwrite``.
    """
    out_dir = Path(out_dir)
    path = out_dir / "config.json"
    if overwrite or not path.is_file():
        return False
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(old, dict):
            raise ValueError(f"a JSON {type(old).__name__}, not an object")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: unreadable ({exc}), so {out_dir} may hold somebody's run; {_HOW}") from None
    try:  # checkpoint paths compare by their store tail: a moved store still holds this run
        old_portable = RunConfig.from_dict(old).portable().to_dict()
    except (ConfigError, TypeError, ValueError, AttributeError):  # a config of an older or foreign schema: compared as it is
        old_portable = old
    changes = config_changes(old_portable, cfg.portable().to_dict())
    if changes:
        shown = "; ".join(changes[:6]) + (f"; and {len(changes) - 6} more" if len(changes) > 6 else "")
        raise ConfigError(f"{out_dir} holds a run of another configuration ({shown}); {_HOW}")
    done = (out_dir / "done.json").is_file()
    if resume:
        return done
    if done:
        raise ConfigError(f"{out_dir} holds a finished run of this configuration; pass --resume (resume=True) to "
                          "use it, or --overwrite (overwrite=True) to train it again")
    if any(out_dir.glob("state_model*.pt*")):
        raise ConfigError(f"{out_dir} holds an unfinished run of this configuration; pass --resume (resume=True) "
                          "to continue it, or --overwrite (overwrite=True) to start again")
    return False
