"""Where the repository's top-level folders are, named once (DESIGN.md's layout).

Found from this file, so the kit works from any working directory; `datasets/` is
only the default home of the data (`$AUTOGRADER_DATA_DIR` moves it, see data/manifest).
"""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DATASETS = REPO_ROOT / "datasets"
README = REPO_ROOT / "README.md"
