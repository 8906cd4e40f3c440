"""Fixtures shared by the kit's own tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder.course import CONFIG_ENV, course_settings

SHARED_SST2_ENV = "AUTOGRADER_SHARED_SST2"


@pytest.fixture(scope="session")
def shared_sst2_dir() -> Path:
    """The verified SST-2 copy that stands in for GLUE's download (no internet here)."""
    default = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sst2"
    folder = Path(os.environ.get(SHARED_SST2_ENV) or default)
    missing = [f for f in ("train.tsv", "dev.tsv") if not (folder / f).is_file()]
    if missing:
        pytest.fail(
            f"The verified SST-2 copy is not in {folder} (missing {', '.join(missing)}). "
            f"Set {SHARED_SST2_ENV} to a directory holding GLUE's train.tsv and dev.tsv.",
            pytrace=False,
        )
    return folder


@pytest.fixture
def course_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a course's autograder.toml for this test: `course_config("[thresholds] …")`."""
    def write(text: str) -> None:
        path = tmp_path / "autograder.toml"
        path.write_text(text)
        monkeypatch.setenv(CONFIG_ENV, str(path))
        course_settings.cache_clear()
    yield write
    course_settings.cache_clear()
