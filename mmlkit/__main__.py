"""``python -m mmlkit``: see :mod:`mmlkit.cli`."""

from mmlkit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
