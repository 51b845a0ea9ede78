"""Accessibility checks run inside a Playwright page: axe-core (pinned in ``web/package.json``) and
reflow at a narrow width.

axe-core is injected from ``web/node_modules`` (``./setup.sh`` runs ``npm ci`` there); the rules
run are those tagged WCAG 2.0/2.1 level A and AA.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
AXE_SCRIPT = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

_RUN_AXE = """async (tags) => {
  const options = { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] };
  const result = await axe.run(document, options);
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({ target: n.target.join(" "), summary: n.failureSummary || "" })),
  }));
}"""


def require_axe() -> Path:
    """The axe-core script; skips (outside CI) or fails (``CI=true``) when ``npm ci`` has not run."""
    if not AXE_SCRIPT.is_file():
        message = f"{AXE_SCRIPT} is missing: run `npm ci` in web/ (./setup.sh does it when npm is installed)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return AXE_SCRIPT


@dataclass(frozen=True)
class Violation:
    """One axe rule broken on one page, with the elements that break it."""

    page: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        shown = "; ".join(self.targets[:4]) + (" …" if len(self.targets) > 4 else "")
        return f"{self.page}: {self.rule} ({self.impact}) {self.help} -> {shown}"


def axe_violations(page: Any, name: str, axe_script: Path) -> list[Violation]:
    """Run axe-core's WCAG 2.1 A/AA rules on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_script))
    found = page.evaluate(_RUN_AXE, list(WCAG_TAGS))
    return [
        Violation(name, v["id"], v["impact"] or "", v["help"], tuple(n["target"] for n in v["nodes"]))
        for v in found
    ]


def overflow_px(page: Any) -> int:
    """How far the document is wider than the viewport (0 when nothing scrolls sideways)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


def widest_elements(page: Any, limit: int = 5) -> list[str]:
    """The elements that stick out of the viewport on the right (for the failure message)."""
    return page.evaluate(
        """(limit) => Array.from(document.querySelectorAll('body *'))
          .map(e => [e, e.getBoundingClientRect()])
          .filter(([e, r]) => r.right > window.innerWidth + 1 && r.width > 0)
          .sort((a, b) => b[1].right - a[1].right).slice(0, limit)
          .map(([e, r]) => `${e.tagName.toLowerCase()}.${e.className} right=${Math.round(r.right)}`)""",
        limit,
    )
