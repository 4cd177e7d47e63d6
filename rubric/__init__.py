"""The 35-point rubric as data, the scoring engine and its reports.

Modules: :mod:`~jobforge.rubric.outcomes` (check outcomes), :mod:`~jobforge.rubric.model` (the
rubric, loaded from ``rubric.yaml``), :mod:`~jobforge.rubric.scoring` (outcomes to levels, total,
band), :mod:`~jobforge.rubric.results` (one run's results and its JSON file),
:mod:`~jobforge.rubric.reports` (terminal, Markdown, JSON, JUnit XML, SVG badge and chart),
:mod:`~jobforge.rubric.policy` (CI gates) and :mod:`~jobforge.rubric.docs` (the rubric as
Markdown). Import the module you need; this package imports nothing heavy on its own.
"""
