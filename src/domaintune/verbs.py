"""Modules that are also verbs: `dt.data.clean(...)` calls a function, `dt.data.clean.X` reads
the module (core; imports nothing of the package).

Python gives a package's attribute to its submodule of the same name once that submodule is
imported, so a function `clean` in `domaintune.data` would be replaced by the module
`domaintune.data.clean`. Instead the module itself is made callable (a module's class may be
reassigned to a `ModuleType` subclass, Python >= 3.5), and calling it calls its verb function.
"""

from __future__ import annotations

import importlib
import sys
import types


class _VerbModule(types.ModuleType):
    """A module whose call is its verb (`__verb__`: 'package.module:function')."""

    def __call__(self, *args, **kwargs):
        module, _, name = self.__dict__["__verb__"].partition(":")
        return getattr(importlib.import_module(module), name)(*args, **kwargs)


def make_callable(module_name: str, verb: str) -> None:
    """Calling module `module_name` calls `verb` ('package.module:function', imported lazily)."""
    module = sys.modules[module_name]
    module.__verb__ = verb
    module.__class__ = _VerbModule
