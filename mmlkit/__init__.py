"""mmlkit: a reproducible companion to "Mutual Modality Learning for Video Action Classification"
(Komkov, Dzabraev, Petiushko, 2020)."""

#: The package's version (pyproject.toml reads it from here). Every run records it
#: (:func:`mmlkit.results.store.environment`).
__version__ = "0.3.0.dev0"
