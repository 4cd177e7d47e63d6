"""The one exception root of jobforge and its direct families.

Every error jobforge raises on purpose derives from :class:`JobforgeError`. Messages name the
field or thing at fault, the value seen, and the fix, so a user can act without reading code.
"""

from __future__ import annotations


class JobforgeError(Exception):
    """Root of every error jobforge raises on purpose."""


class UsageError(JobforgeError):
    """The command line or an input file was used wrongly; the message says how to fix it."""


class AnswersError(JobforgeError):
    """An answers file is invalid; ``errors`` lists every problem found, one line each."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


class RubricError(JobforgeError):
    """The rubric data, a results file or a policy file is malformed."""


class ConformanceError(JobforgeError):
    """A conformance run could not produce a verdict (adapter, ledger or infrastructure failed)."""


class TemplateError(JobforgeError):
    """Generating a project from the bundled copier template failed."""
