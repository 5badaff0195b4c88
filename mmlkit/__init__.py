"""mmlkit: a reproducible companion to "Mutual Modality Learning for Video Action Classification"
(Komkov, Dzabraev, Petiushko, 2020)."""

__version__ = "0.1.0"
