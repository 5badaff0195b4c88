"""Test views, view-averaged scores, ensembles, metrics and single-model export."""

from mmlkit.evaluation.evaluate import (EnsembleError, Scores, ensemble, format_metrics, score_model,
                                        subset_table, test, write_submission)
from mmlkit.evaluation.export import ExportError, check_export, export_checkpoint, export_model, load_exported
from mmlkit.evaluation.metrics import (bootstrap_ci, confusion_matrix, hierarchical_bootstrap, mean_class_accuracy,
                                       paired_bootstrap, per_class_accuracy, summary, topk_accuracy, topk_correct)
from mmlkit.evaluation.views import ViewPlan, ViewPlanError, frames_needed, view_plan

__all__ = [
    "EnsembleError", "Scores", "ensemble", "format_metrics", "score_model", "subset_table", "test",
    "write_submission", "ExportError", "check_export", "export_checkpoint", "export_model",
    "load_exported", "bootstrap_ci", "confusion_matrix", "hierarchical_bootstrap", "mean_class_accuracy",
    "paired_bootstrap", "per_class_accuracy", "summary", "topk_accuracy", "topk_correct", "ViewPlan",
    "ViewPlanError", "frames_needed", "view_plan",
]
