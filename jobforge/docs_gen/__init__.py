"""Pages of the kit's documentation site generated from the data they describe.

The question reference comes from the question bank, the rubric reference from the rubric, the
check catalogue from the conformance kit's registry and the adapter reference from the adapter
Protocol itself, so the site changes when they change. ``docs/hooks/generated_pages.py`` adds
these pages to the mkdocs build; nothing generated is committed. Start at
:func:`jobforge.docs_gen.pages.generated_pages`.
"""

from __future__ import annotations
