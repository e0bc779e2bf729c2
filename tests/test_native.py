"""tether's C extensions (the token estimate's counts, the redaction's joined text) are optional:
pip builds them where a C compiler is at hand, and tether counts the same in Python without them.
So a build that fails says nothing at install, and the tests of the C code skip: here, in a source
checkout on a machine with a compiler, a missing or stale extension fails instead."""

from __future__ import annotations

import importlib
import shutil
import sysconfig
from pathlib import Path

import pytest

EXTENSIONS = ["tether.transcripts._counts", "tether.compaction._utf8"]


def _compiler() -> str | None:
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc)


@pytest.mark.parametrize("name", EXTENSIONS)
def test_each_extension_is_built_from_its_current_source(name):
    package, _, module = name.rpartition(".")
    source = Path(importlib.import_module(package).__file__).parent / f"{module}.c"
    if not source.is_file():
        pytest.skip("not a source checkout")
    if _compiler() is None or not Path(sysconfig.get_paths()["include"], "Python.h").is_file():
        pytest.skip("no C compiler or Python headers here: tether runs without its extensions")
    try:
        built = importlib.import_module(name)
    except ImportError:
        pytest.fail(f"{name} was not built: run `pip install -e .` and read the compiler's error")
    assert Path(built.__file__).stat().st_mtime >= source.stat().st_mtime, \
        f"{built.__file__} is older than {source.name}: run `pip install -e .` again"
