"""The published JSON Schema of results files, generated from the pydantic model.

``results.schema.json`` next to this module is the published copy; a test fails when it drifts
from the model. Regenerate it with ``python -m jobforge.rubric.schema``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from .results import ResultsDocument

#: File name of the published schema inside the package.
SCHEMA_FILE = "results.schema.json"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def results_schema() -> dict[str, Any]:
    """Build the JSON Schema of a results document from the model."""
    schema = ResultsDocument.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": _DIALECT, **schema}


def results_schema_text() -> str:
    """Return the schema as the published file holds it."""
    return json.dumps(results_schema(), indent=2, ensure_ascii=False) + "\n"


def published_schema() -> dict[str, Any]:
    """Load the published schema file shipped with the package."""
    text = resources.files("jobforge.rubric").joinpath(SCHEMA_FILE).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def write_schema(path: Path | None = None) -> Path:
    """Write the schema (to the package's ``results.schema.json`` by default)."""
    target = path or Path(__file__).with_name(SCHEMA_FILE)
    target.write_text(results_schema_text(), "utf-8")
    return target


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    print(write_schema())
