"""The registry of problem families: the only place that lists them.

Each module named in :data:`MODULES` declares ``FAMILIES``, a tuple of
:class:`~mi_cvx.family.Family` descriptions; :func:`families` collects them in
this order.  Adding a family is one line here plus its own module.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from .errors import InvalidInputError
from .family import Family

#: Modules that declare families, in the order the families are listed.
MODULES = (
    "mi_cvx.gaussian",
    "mi_cvx.subset",
    "mi_cvx.discrete",
)


@cache
def families() -> Mapping[str, Family]:
    """Every problem family, by name (a read-only mapping, in a stable order).

    Returns
    -------
    mapping of str -> Family
        ``families()["gaussian_scalar"].factory`` is :func:`mi_cvx.gaussian_scalar`,
        ``.params`` its parameters, ``.oracles`` its closed forms, ... (see
        :class:`~mi_cvx.family.Family`).
    """
    found: dict[str, Family] = {}
    for module in MODULES:
        for fam in importlib.import_module(module).FAMILIES:
            if fam.name in found:
                raise RuntimeError(f"two families are called {fam.name!r}")
            found[fam.name] = fam
    return MappingProxyType(found)


def get_family(name: str) -> Family:
    """The family called ``name``: its name, its CLI spelling (dashes) or an older alias.

    Raises
    ------
    InvalidInputError
        Naming ``family`` and listing the known names, if there is none.
    """
    table = families()
    if not isinstance(name, str):
        raise InvalidInputError("family", f"unknown family {name!r} (not a name); choose one of {', '.join(table)}")
    key = name.strip().lower().replace("-", "_")
    if key in table:
        return table[key]
    for fam in table.values():
        if key in fam.aliases:
            return fam
    raise InvalidInputError("family", f"unknown family {name!r}; choose one of {', '.join(table)}")


def family_of(problem) -> Family | None:
    """The registered family of an :class:`~mi_cvx.core.AttackProblem` (None for a family of the user's own)."""
    name = getattr(problem, "family", None)
    if name is None:
        return None
    return families().get(name)
