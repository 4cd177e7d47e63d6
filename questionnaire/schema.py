"""The answers JSON Schema, exported from the pydantic model (``jobforge answers schema``).

It is made on demand, never committed: its defaults and limits are the bank's (the model reads
them there), so there is no copy to keep in step.
"""

from __future__ import annotations

import json
from typing import Any

from .model import Answers

SCHEMA_ID = "https://jobforge.dev/schemas/answers.schema.json"


def answers_schema() -> dict[str, Any]:
    """Return the JSON Schema of an answers file (``_`` keys are allowed and ignored)."""
    schema = Answers.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "jobforge answers"
    schema["description"] = (
        "Answers to the jobforge questionnaire (Phase 9 questions and the job-type decision "
        "tree). Cross-field rules are checked by `jobforge answers check`, not by this schema."
    )
    schema["patternProperties"] = {"^_": {}}
    # Every answer may be left out: broker_url and max_workers default from earlier answers.
    schema.pop("required", None)
    return schema


def schema_json() -> str:
    """Return the schema as formatted JSON text ending in a newline."""
    return json.dumps(answers_schema(), indent=2, sort_keys=False) + "\n"
