"""Loading the installed business areas' declarations (what each follows in the register,
its dated parameters) before anyone relies on them being complete.

The register must not import the areas that follow it, nor the parameter store the areas
that declare parameters: they sit above. So the list of installed areas is one module at
the top, ``lgcloud/areas.py`` (as Django's INSTALLED_APPS), imported here by name the first
time a complete list is needed. Written by hand: it is one ``importlib`` call, and what it
guards against (a register change that silently skips a following area because nobody
imported it) is this project's rule, not a library's."""

from __future__ import annotations

import importlib

_loaded = False


def load_areas() -> None:
    global _loaded  # noqa: PLW0603  (a once-only flag)
    if not _loaded:
        importlib.import_module("lgcloud.areas")
        _loaded = True
