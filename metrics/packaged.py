"""Files shipped inside installed packages, found without importing the package's module.

Some packages ship model weights next to code that cannot be imported here (DistillMOS's module imports
torchaudio) or that we do not need (speechmos' module imports requests and pandas). The import system
tells where a package lives (``importlib.util.find_spec``) without running it.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path


class PackagedFileMissing(RuntimeError):
    """The package is not installed, or does not hold the expected file; the message says which."""


def package_file(package: str, relative: str, install: str) -> Path:
    """Path of ``relative`` inside the installed ``package`` (its module is not executed).

    Args:
        package: top-level import name (``speechmos``).
        relative: path inside the package folder (``dnsmos_models/model_v8.onnx``).
        install: how to install the package, for the error message.
    Raises:
        PackagedFileMissing: naming the package, the file and the install command.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise PackagedFileMissing(f"package {package!r} is not installed; install it with: {install}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / relative
        if path.is_file():
            return path
    raise PackagedFileMissing(f"package {package!r} has no file {relative} (another version?); "
                              f"install it with: {install}")



@functools.cache
def file_sha256(path: Path) -> str:
    """sha256 of a packaged file, computed once per process (recorded in run.json with the metric)."""
    from bench.audio import sha256_file

    return sha256_file(path)
