"""The HTML report rendered in headless Chromium (Debian ``chromium``, installed by
``scripts/test.sh``): the page loads with no console error, exception or failed resource, requests
nothing but its own file (no external assets), and lays out (a full-page screenshot is kept).

Screenshots are written to pytest's ``tmp_path`` and copied to ``tests/report/artifacts/``
(git-ignored) so a person — or a CI job collecting artifacts — can look at them.
"""

from __future__ import annotations

import re
import shutil
import struct
from pathlib import Path

import pytest

from planner.render.report_html import render_html
from tests.report.chromium import chromium_binary, render_page
from tests.report.harness import GOLDEN_DIR
from tests.report.samples import every_status

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

pytestmark = pytest.mark.skipif(
    chromium_binary() is None, reason="chromium is not installed (apt-get install chromium)"
)


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def keep(tmp_path: Path, name: str, png: bytes) -> Path:
    shot = tmp_path / name
    shot.write_bytes(png)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / name)
    return shot


def test_example_report_renders_cleanly_in_chromium(tmp_path: Path) -> None:
    page = tmp_path / "example.html"
    shutil.copyfile(GOLDEN_DIR / "example" / "report.html", page)
    seen = render_page(page)
    assert seen.problems() == []
    assert seen.requests == [page.resolve().as_uri()], "the page loaded something else"
    keep(tmp_path, "example-report.png", seen.png)
    width, height = png_size(seen.png)
    assert width == 1280
    assert height > 1500, "a report with a dozen findings should be longer than one screen"


def test_markup_in_findings_stays_text(tmp_path: Path) -> None:
    """A message holding ``<script>`` would log to the console if it ran; it must not."""
    page = tmp_path / "every-status.html"
    page.write_text(
        render_html(every_status()).replace("alert(", "console.error("), encoding="utf-8"
    )
    seen = render_page(page)
    assert seen.problems() == []
    assert seen.requests == [page.resolve().as_uri()]
    keep(tmp_path, "every-status-report.png", seen.png)


def test_the_browser_check_sees_console_errors_and_failed_loads(tmp_path: Path) -> None:
    """Negative control: the client must notice what the tests above assert is absent."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><body><img src='missing.png'>"
        "<script>console.error('boom'); notDefined();</script></body></html>",
        encoding="utf-8",
    )
    seen = render_page(page)
    problems = "\n".join(seen.problems())
    assert "console.error: boom" in problems
    assert "notDefined" in problems
    assert "missing.png" in problems
    assert any(url.endswith("/missing.png") for url in seen.requests)


def test_the_report_prints(tmp_path: Path) -> None:
    """Under print media: white page and evidence, folded blocks open (the evidence and the
    passes are on paper), the stale banner kept; the PDF has pages."""
    page = tmp_path / "example.html"
    shutil.copyfile(GOLDEN_DIR / "example" / "report.html", page)
    seen = render_page(
        page,
        media="print",
        evaluate=(
            "getComputedStyle(document.body).backgroundColor",
            "getComputedStyle(document.querySelector('pre')).backgroundColor",
            "document.querySelector('article details pre').checkVisibility()",
            "document.querySelector('details.passed li').checkVisibility()",
            "document.querySelector('.stale').checkVisibility()",
            "document.querySelector('.stale').getBoundingClientRect().top"
            " < document.querySelector('dl.meta').getBoundingClientRect().top",
        ),
        pdf=True,
    )
    assert seen.problems() == []
    assert seen.requests == [page.resolve().as_uri()]
    assert seen.values == ["rgb(255, 255, 255)", "rgb(255, 255, 255)", True, True, True, True]
    assert seen.pdf.startswith(b"%PDF-")
    pages = [int(n) for n in re.findall(rb"/Count (\d+)", seen.pdf)]
    assert pages and max(pages) >= 2, "a report with a dozen findings takes more than a page"
    keep(tmp_path, "example-report-print.png", seen.png)


def test_folded_blocks_stay_folded_on_screen(tmp_path: Path) -> None:
    """Negative control for the print test: on screen the evidence is folded."""
    page = tmp_path / "example.html"
    shutil.copyfile(GOLDEN_DIR / "example" / "report.html", page)
    seen = render_page(
        page, evaluate=("document.querySelector('article details pre').checkVisibility()",)
    )
    assert seen.values == [False]
