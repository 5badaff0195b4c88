"""``python -m mmlkit``: see :mod:`mmlkit.cli`."""

from mmlkit.cli import entry

if __name__ == "__main__":
    raise SystemExit(entry())
