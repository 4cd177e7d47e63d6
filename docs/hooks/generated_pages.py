"""mkdocs hook: add the pages generated from the question bank, the rubric and the kit's code.

The pages are made at build time from the YAML next to mkdocs.yml, so the site always says what
the data says; see :mod:`jobforge.docs_gen`.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

from jobforge.docs_gen.pages import generated_pages


def on_files(files: Files, *, config: MkDocsConfig) -> Files:
    """Add every generated page to the build."""
    root = Path(config.config_file_path).parent
    for page in generated_pages(root):
        files.append(File.generated(config, page.src_uri, content=page.content))
    return files
