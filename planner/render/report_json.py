"""The report as JSON: the :class:`Report` document, valid against ``schemas/report.schema.json``.

This is the public, versioned form (``format_version``); every other report format is rendered
from the same model, so a consumer that needs more than a rendering shows reads this one.
"""

from __future__ import annotations

from typing import Any

from planner.jsontext import canonical_model_json
from planner.model.report import Report


def report_document(report: Report) -> dict[str, Any]:
    """The report as plain JSON data (aliases applied: the summary's ``pass`` count)."""
    doc: dict[str, Any] = report.model_dump(mode="json", by_alias=True)
    return doc


def render_json(report: Report) -> str:
    """Indented, key-sorted JSON with a final newline (stable for golden files and diffs):
    ``json.dumps(indent=2, sort_keys=True, ensure_ascii=False)``'s bytes, built fast
    (:func:`planner.jsontext.canonical_model_json`: a report lists every object in scope)."""
    return canonical_model_json(report, ensure_ascii=False)  # = report_document(report)
