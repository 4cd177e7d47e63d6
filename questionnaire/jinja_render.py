"""Render the bank's Jinja in Python, the way copier renders it at the prompts.

The checks, cross-field rules and derived defaults exist once, as the Jinja that
:mod:`.jinja_checks` and :mod:`.jinja_defaults` compile from the bank into ``copier.yml``. The
answers model evaluates that same Jinja here, so copier and ``jobforge answers check`` cannot
disagree by implementation. The environment is a plain sandbox like copier's (the compiled Jinja
uses built-in filters only) with strict undefined names, so a template that reads an answer
which failed its own check is recognized before it runs (:func:`reads`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined)


@cache
def _template(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


@cache
def reads(source: str) -> frozenset[str]:
    """Return the answer names a template reads (names it does not set itself)."""
    return frozenset(meta.find_undeclared_variables(_ENV.parse(source)))


def render_json(source: str, context: Mapping[str, Any]) -> Any:
    """Render a template whose output is one ``tojson`` value, and return that value."""
    return json.loads(_template(source).render(dict(context)))
