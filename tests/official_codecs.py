"""Import the official ``encodec`` and ``dac`` packages (installed with --no-deps) without their dependencies.

torchaudio cannot be loaded next to this suite's torch, and DAC's ``audiotools`` and ``argbind`` bring
torchaudio and old pins. Their model code does not need them: the packages only import them. While the
packages are imported, stand-in modules take their place; anything taken from a stand-in raises
:class:`StandInCalled` when called, so a test fails loudly if model code ever uses one. DAC's base class
``audiotools.ml.BaseModel`` (which also writes ``weights.pth``) is the real one, loaded from the installed
audiotools file that defines it (that file needs only torch).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any
from unittest import mock

import pytest


class StandInCalled(AssertionError):
    """Official code called something that only exists as a stand-in here."""


class _Forbidden:
    """A placeholder attribute: calling it (or anything reached through it) raises."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise StandInCalled(f"official code called {self._name}, which is only a stand-in in these tests")

    def __getattr__(self, attr: str) -> _Forbidden:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Forbidden(f"{self._name}.{attr}")


class _StandInModule(types.ModuleType):
    """A module whose every attribute is :class:`_Forbidden` unless set explicitly."""

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Forbidden(f"{self.__name__}.{attr}")


def _real_base_model() -> type:
    """audiotools' ``BaseModel`` from its own file, without running audiotools' package imports."""
    spec = importlib.util.find_spec("audiotools")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("descript-audiotools is not installed: run make setup (tests/reference_packages.txt)")
    path = Path(next(iter(spec.submodule_search_locations))) / "ml" / "layers" / "base.py"
    file_spec = importlib.util.spec_from_file_location("_audiotools_base_model", path)
    assert file_spec is not None and file_spec.loader is not None
    module = importlib.util.module_from_spec(file_spec)
    file_spec.loader.exec_module(module)
    return module.BaseModel


def _argbind() -> types.ModuleType:
    """``argbind.bind(...)`` runs at import as a decorator factory: the decorated functions become forbidden."""
    module = _StandInModule("argbind")

    def bind(*args: Any, **kwargs: Any) -> Any:
        return lambda fn: _Forbidden(f"argbind-bound {getattr(fn, '__qualname__', fn)}")

    module.bind = bind  # type: ignore[attr-defined]
    return module


def _stand_ins() -> dict[str, types.ModuleType]:
    audiotools = _StandInModule("audiotools")
    ml = _StandInModule("audiotools.ml")
    ml.BaseModel = _real_base_model()  # type: ignore[attr-defined]
    audiotools.ml = ml  # type: ignore[attr-defined]
    core = _StandInModule("audiotools.core")
    audiotools.core = core  # type: ignore[attr-defined]
    return {
        "torchaudio": _StandInModule("torchaudio"),
        "audiotools": audiotools,
        "audiotools.ml": ml,
        "audiotools.core": core,
        "argbind": _argbind(),
    }


_CACHE: dict[str, types.ModuleType] = {}


def official(package: str) -> types.ModuleType:
    """The official ``encodec`` or ``dac`` package, imported once with the stand-ins (fails if not installed)."""
    if package not in _CACHE:
        if importlib.util.find_spec(package) is None:
            pytest.fail(f"the official {package!r} package is not installed: run make setup "
                        "(it installs tests/reference_packages.txt with --no-deps)")
        with mock.patch.dict(sys.modules, _stand_ins()):
            _CACHE[package] = importlib.import_module(package)
    return _CACHE[package]
