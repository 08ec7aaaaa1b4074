"""Where the project's data folders (vectors/, suites/) live."""

from __future__ import annotations

import os
from pathlib import Path


class DataDirNotFound(RuntimeError):
    """The vectors/ or suites/ folder could not be located."""


def project_root() -> Path:
    """The checkout holding vectors/ and suites/.

    BOLTCHECK_HOME wins; otherwise the checkout this package was installed from (editable install),
    then the current directory and its parents.
    """
    env = os.environ.get("BOLTCHECK_HOME")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parent.parent)
    cwd = Path.cwd().resolve()
    candidates.extend([cwd, *cwd.parents])
    for candidate in candidates:
        if (candidate / "vectors").is_dir() and (candidate / "suites").is_dir():
            return candidate
    raise DataDirNotFound(
        "cannot find the boltcheck data folders (vectors/ and suites/): "
        "run from the checkout or set BOLTCHECK_HOME"
    )


def vectors_dir() -> Path:
    return project_root() / "vectors"


def suites_dir() -> Path:
    return project_root() / "suites"
