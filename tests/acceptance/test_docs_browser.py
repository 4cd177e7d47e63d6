"""The generated specs site in a real browser: the mermaid diagrams render as SVG.

Needs Debian's ``chromium`` and ``mermaid.min.js`` from the ``mermaid`` npm package in the cache
directory; ``scripts/install-browser.sh`` installs both. Locally the test skips, with the reason,
when either is missing; under ``CI=true`` it fails. The page may load nothing from outside the
loopback server, so a pass proves the diagrams render offline from the local mermaid.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from docs_support import answers_of, mkdocs_build, render, template_root, valid_examples

pytestmark = pytest.mark.acceptance

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MERMAID = (
    Path(os.environ.get("JOBFORGE_MERMAID_CACHE", Path.home() / ".cache" / "jobforge" / "mermaid"))
    / "mermaid.min.js"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _require_browser() -> None:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("chromium (apt-get install chromium)")
    if not MERMAID.is_file():
        missing.append(f"{MERMAID} (npm pack mermaid@11)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package (pip install -e '.[dev]')")
    if missing:
        reason = "missing " + ", ".join(missing) + "; run bash scripts/install-browser.sh"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output clean."""


@pytest.fixture
def served_site(tmp_path: Path) -> Iterator[str]:
    """Build the sqlite example's specs site with a local mermaid and serve it on loopback."""
    _require_browser()
    example = next(p for p in valid_examples() if p.stem == "sqlite")
    project = render(template_root(tmp_path), answers_of(example), tmp_path / "project")
    offline = project / "mkdocs.offline.yml"
    offline.write_text(
        "INHERIT: mkdocs.jobs.yml\nextra_javascript:\n  - _vendor/mermaid.min.js\n",
        encoding="utf-8",
    )
    result = mkdocs_build(offline)
    assert result.returncode == 0, result.stderr
    site = project / "site" / "jobs"
    (site / "_vendor").mkdir()
    shutil.copy2(MERMAID, site / "_vendor" / "mermaid.min.js")
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _attrs(node: dict[str, Any]) -> dict[str, str]:
    flat = node.get("attributes", [])
    return dict(zip(flat[::2], flat[1::2], strict=False))


def _svgs(node: dict[str, Any], inside_mermaid: bool = False) -> Iterator[dict[str, Any]]:
    """Yield every <svg> under a div.mermaid host, through closed shadow roots."""
    classes = _attrs(node).get("class", "")
    here = inside_mermaid or (node.get("nodeName") == "DIV" and "mermaid" in classes.split())
    if here and node.get("nodeName", "").lower() == "svg":
        yield node
        return
    for child in (*node.get("shadowRoots", []), *node.get("children", [])):
        yield from _svgs(child, here)


def _text(node: dict[str, Any]) -> str:
    own = node.get("nodeValue", "") if node.get("nodeType") == 3 else ""
    return own + " ".join(_text(c) for c in node.get("children", []))


def test_technical_design_page_renders_mermaid_diagrams_as_svg(
    served_site: str, tmp_path: Path
) -> None:
    from playwright.sync_api import Route, sync_playwright

    outside: list[str] = []

    def only_loopback(route: Route) -> None:
        url = route.request.url
        if url.startswith(served_site):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    shot = tmp_path / "technical_design_spec.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", only_loopback)
            page.goto(f"{served_site}/specs/technical_design_spec/")
            page.wait_for_function(
                "document.querySelectorAll('pre.mermaid').length === 0 && "
                "document.querySelectorAll('div.mermaid').length >= 2",
                timeout=30_000,
            )
            page.screenshot(path=str(shot), full_page=True)
            session = page.context.new_cdp_session(page)
            dom = session.send("DOM.getDocument", {"depth": -1, "pierce": True})
        finally:
            browser.close()

    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    svgs = list(_svgs(dom["root"]))
    roles = [_attrs(s).get("aria-roledescription") for s in svgs]
    kinds = set(roles)
    assert {"stateDiagram", "flowchart-v2"} <= kinds, f"rendered: {kinds}"
    lifecycle = next(s for s, kind in zip(svgs, roles, strict=True) if kind == "stateDiagram")
    labels = _text(lifecycle)
    for state in ("PENDING", "RUNNING", "COMPLETED", "FAILED", "RETRYING", "DEAD"):
        assert state in labels
    assert not outside, f"the page tried to load from outside the site: {outside}"
