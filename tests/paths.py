"""Where the project and the tests' outputs lie, the same for a test in any folder."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
ARTIFACTS = ROOT / "tests" / "artifacts"  # the browser tests' screenshots (git-ignored)
