"""Where the repository's top-level folders are, named once (DESIGN.md's layout).

Found from this file, so the kit works from any working directory. The student kit
installs as a plain package, with no checkout around it: its release copies the files
the kit reads from the checkout (the data manifest, the released stubs) into the
package's `bundled/` folder, where `kit_path` finds them first. `datasets/` is only the
default home of the data (`$AUTOGRADER_DATA_DIR` moves it, see data/manifest); an
installed package, which has no checkout, keeps it in the user's data folder.
"""
from __future__ import annotations

from pathlib import Path

import platformdirs

PACKAGE = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE.parent
BUNDLED = PACKAGE / "bundled"
README = REPO_ROOT / "README.md"
IN_CHECKOUT = (REPO_ROOT / "pyproject.toml").is_file()  # a clone, or an editable install
DATASETS = (REPO_ROOT / "datasets" if IN_CHECKOUT
            else Path(platformdirs.user_data_dir("nn-autograder")) / "datasets")


def kit_path(relative: str) -> Path:
    """A file or folder the kit reads from the checkout (`datasets/manifest.json`,
    `assignments`): the package's own copy in the student kit, else the checkout's."""
    bundled = BUNDLED / relative
    return bundled if bundled.exists() else REPO_ROOT / relative
