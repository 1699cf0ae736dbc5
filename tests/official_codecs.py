"""Import the official ``encodec`` and ``dac`` packages (installed with --no-deps) without their dependencies.

``make setup`` installs them into ``.venv/reference-packages`` (not site-packages: the DAC wheel also
installs a top-level ``tests`` package that would shadow this suite's); that folder is on ``sys.path``
only while they are imported.

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

#: where make setup installs tests/reference_packages.txt
REFERENCE_DIR = Path(sys.prefix) / "reference-packages"


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
    path = REFERENCE_DIR / "audiotools" / "ml" / "layers" / "base.py"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run make setup (tests/reference_packages.txt)")
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
        if not (REFERENCE_DIR / package / "__init__.py").is_file():
            pytest.fail(f"the official {package!r} package is not in {REFERENCE_DIR}: run make setup "
                        "(it installs tests/reference_packages.txt there with --no-deps)")
        stand_ins = _stand_ins()
        saved = {name: sys.modules.get(name) for name in stand_ins}
        sys.modules.update(stand_ins)
        try:
            with mock.patch.object(sys, "path", [str(REFERENCE_DIR), *sys.path]):
                _CACHE[package] = importlib.import_module(package)
        finally:  # only the stand-ins leave sys.modules again (torch's lazily imported parts stay)
            for name, module in saved.items():
                if module is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = module
    return _CACHE[package]


def seeded_encodec(preset: str):
    """The package's model with random weights, including random codebooks (its own init leaves them zero)."""
    import torch

    enc = official("encodec")
    torch.manual_seed(0)
    factory = {"encodec_24khz": enc.EncodecModel.encodec_model_24khz,
               "encodec_48khz": enc.EncodecModel.encodec_model_48khz}[preset]
    model = factory(pretrained=False)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, buf in model.named_buffers():
            if name.endswith("_codebook.embed"):
                buf.copy_(torch.randn(buf.shape, generator=gen) * 0.3)
    return model.eval()
