"""Hatch build hook: bundle the widget's JavaScript (js/) into jaxviz/static/.

The bundle is not committed. Every build (wheel, sdist, editable install) runs ``npm ci`` and
the esbuild build in js/ when the bundle is missing or older than its sources, then ships it
even though git ignores it. An sdist carries the bundle, so building a wheel from it needs no
Node.js. Building from a clone needs Node.js (>= 18) and npm; ``JAXVIZ_SKIP_JS=1`` builds
without them (the widget then says that its bundle is missing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

BUNDLE = ("jaxviz/static/widget.js", "jaxviz/static/page.js", "jaxviz/static/compare-page.js")


class JsBundleHook(BuildHookInterface):
    PLUGIN_NAME = "jaxviz-js-bundle"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        js = root / "js"
        outputs = [root / path for path in BUNDLE]
        if os.environ.get("JAXVIZ_SKIP_JS") == "1":
            self.app.display_warning("JAXVIZ_SKIP_JS=1: building without the widget bundle")
            return
        if not js.is_dir():  # an sdist: the bundle came with it
            missing = [str(path) for path in outputs if not path.is_file()]
            if missing:
                raise RuntimeError(f"no js/ sources and no bundle ({', '.join(missing)})")
        elif _stale(outputs, _sources(js)):
            self._build(js)
        build_data["artifacts"].extend(BUNDLE)

    def _build(self, js: Path) -> None:
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                "building jaxviz bundles its notebook widget with Node.js (>= 18) and npm, "
                "which were not found: install them, or set JAXVIZ_SKIP_JS=1 to build without "
                "the widget"
            )
        installed = js / "node_modules" / ".package-lock.json"
        if _stale([installed], [js / "package-lock.json"]):
            self.app.display_info("jaxviz: npm ci (js/)")
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=js, check=True)
        self.app.display_info("jaxviz: bundling the widget (js/ -> jaxviz/static/)")
        subprocess.run([npm, "run", "build"], cwd=js, check=True)


def _sources(js: Path) -> list[Path]:
    return [js / "package.json", js / "package-lock.json", js / "build.mjs",
            *(path for path in (js / "src").rglob("*") if path.is_file())]


def _stale(outputs: list[Path], sources: list[Path]) -> bool:
    """True when an output is missing or older than a source."""
    if not all(path.is_file() for path in outputs):
        return True
    oldest = min(path.stat().st_mtime for path in outputs)
    return any(path.stat().st_mtime > oldest for path in sources)
