"""The ``mi-cvx`` command.

::

    mi-cvx solve FAMILY [problem options] [--solver S] [--option KEY=VALUE ...] [--time-limit SEC] [--json]
    mi-cvx solve --spec problem.toml [--json]
    mi-cvx sweep FAMILY [problem options] --budgets 0:1:11 [--out sweep.csv] [--n-jobs 2]
                 [--backend loky|dask] [--scheduler tcp://host:8786] [--option KEY=VALUE ...] [--json | --csv]
    mi-cvx compare FAMILY [problem options] [--solvers CLARABEL,SCS] [--option SOLVER:KEY=VALUE ...]
                   [--json | --csv]
    mi-cvx verify FAMILY [problem options] [--trials 200] [--option KEY=VALUE ...] [--json | --csv]
    mi-cvx reproduce --out DIR [--quick] [--n-jobs 2] [--json]

Families: those of :func:`mi_cvx.families`, spelt with dashes
(``gaussian-scalar``, ``gaussian-vector``, ``gaussian-sparse``, ``subset-attack``,
``binary-channel``, ``discrete-channel``; the older ``binary``, ``discrete`` and
``subset`` still work).  Their options are generated from each family's
parameter schema (:attr:`mi_cvx.family.Family.params`).  Arrays (``--A``, ``--signal-cov``,
``--p-xy``, ...) are inline JSON (``'[[0.4,0.1],[0.1,0.4]]'``) or the path of a
``.npy``, ``.csv``, ``.txt`` or ``.json`` file.  A problem can also come from a
TOML or JSON spec file (``--spec``) whose keys are the factories' argument
names, with arrays inline or as file names relative to the spec file.
``--grid case30`` (or ``case14``, ``case57``, ``case118``, ``case300``) takes the observation
model of an IEEE power-grid test system (:func:`mi_cvx.grids.grid_model`), ``--stealth`` and
``--stealth-weight`` the detectability terms.
``--formulation`` and ``--knows`` choose the factories' routes, ``--solver``
the backend and a repeatable ``--option KEY=VALUE`` (VALUE read as JSON, else
as text) the options passed to ``cvxpy.Problem.solve``.

Exit status (:data:`EXIT_CODES`): 0 on success; 1 when a solve failed or a
check did not pass (or another mi_cvx error); 2 for bad input, including a
problem whose data would not fit in memory and any ``MemoryError``; 3 when a
solve was refused because it is estimated beyond this machine's time or memory
(:class:`~mi_cvx.errors.ResourceLimitError`); 130 when interrupted.  Every
failure is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .errors import InvalidInputError, MiCvxError, ResourceLimitError, UnsupportedSolverError
from .family import PARAM_KINDS, Family
from .serialize import json_safe

PROG = "mi-cvx"

#: Exit status of ``mi-cvx`` by outcome.
EXIT_CODES = {
    "ok": 0,
    "failed": 1,  # a solve was not accurate, a check did not pass, or another mi_cvx error
    "bad_input": 2,  # bad arguments or spec, a problem too large to hold in memory, MemoryError
    "beyond_reach": 3,  # a solve refused: estimated beyond this machine's time or memory (ResourceLimitError)
    "interrupted": 130,
}

_EXIT_EPILOG = (
    "exit status:\n"
    "  0    success\n"
    "  1    a solve was not accurate, a check did not pass, or another mi_cvx error\n"
    "  2    bad input (arguments, spec file, a problem whose data would not fit in memory, out of memory)\n"
    "  3    the solve was refused: estimated beyond this machine's time or memory (try a smaller model,\n"
    "       a structure with an exact path, or --time-limit)\n"
    "  130  interrupted\n"
    "Every error is one line on stderr."
)

# ------------------------------------------------------------------ families


def _families():
    from .registry import families

    return families()


def _family(name: Any) -> Family:
    """The registered family called ``name`` (dashes or underscores, or an older alias)."""
    from .registry import get_family

    return get_family(name)


def __getattr__(name: str) -> Any:
    if name == "FAMILIES":  # the hand-copied table the registry replaced
        import warnings

        warnings.warn("mi_cvx.cli.FAMILIES is deprecated; use mi_cvx.families() (keys with underscores, "
                      "Family.cli_name for the command line's spelling)", DeprecationWarning, stacklevel=2)
        return {fam.cli_name: fam for fam in _families().values()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Spec-file keys every family accepts besides its own.
_COMMON_KEYS = ("family", "solver", "budgets")
#: Keys of a random observation matrix, accepted by a family with an ``observation`` parameter.
_RANDOM_KEYS = ("m", "n", "seed")
#: Keys of an IEEE power-grid model (:func:`mi_cvx.grids.grid_model`), the other way to give an ``observation``
#: matrix: ``grid`` names the test system, the others are ``grid_model``'s arguments.
_GRID_KEYS = ("grid", "grid_correlation", "grid_snr", "grid_injection_noise")


def _keys(family: Family) -> tuple[str, ...]:
    """The problem settings ``family`` takes: its parameters (and m, n, seed and grid where A is an observation)."""
    names = tuple(p.name for p in family.params)
    if any(p.kind == "observation" for p in family.params):
        names += _RANDOM_KEYS + _GRID_KEYS
    return names


def _read_value(param_kind: str, value: Any, name: str, base: Path) -> Any:
    """A spec file's or option's text as the value the factory takes, by the parameter's kind."""
    if param_kind in ("array", "observation"):
        return _array_value(value, name, base)
    if param_kind == "indices":
        return _index_list(value, name)
    return value


# --------------------------------------------------------------- arguments


def _load_array_file(path: Path, name: str) -> np.ndarray:
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix == ".json":
            return np.asarray(json.loads(path.read_text(encoding="utf-8")), dtype=float)
        if suffix in (".csv", ".txt", ".tsv", ""):
            delimiter = "\t" if suffix == ".tsv" else ("," if suffix == ".csv" else None)
            return np.loadtxt(path, delimiter=delimiter, ndmin=1, dtype=float)
    except (OSError, ValueError) as exc:
        raise InvalidInputError(name, f"cannot read {path}: {exc}") from None
    raise InvalidInputError(name, f"unsupported file type {suffix!r} for {path} (use .npy, .csv, .txt or .json)")


def _array_value(value: Any, name: str, base: Path) -> Any:
    """An array given inline (list, number, JSON text) or as a file path relative to ``base``."""
    if isinstance(value, (int, float, list)) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise InvalidInputError(name, f"expected a number, a nested list or a file name, got {value!r}")
    text = value.strip()
    if text[:1] in "[-.0123456789" and text:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            if text.startswith("["):
                raise InvalidInputError(name, f"not valid JSON: {text!r}") from None
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = base / path
    if not path.exists():
        raise InvalidInputError(name, f"{text!r} is neither inline JSON nor an existing file")
    return _load_array_file(path, name)


def _index_list(value: Any, name: str) -> list:
    """Row indices or a boolean mask as a list, from ``"0,2"``, ``"[0, 2]"``, ``"[true, false, true]"`` or a list.

    The entries are checked against the number of rows by
    :func:`mi_cvx.validate.row_indices` once the model is known.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text) if text.startswith("[") else [int(v) for v in text.split(",") if v.strip()]
        except (ValueError, RecursionError):
            raise InvalidInputError(name, f"expected row indices like '0,2' or '[0, 2]', or a boolean mask like "
                                    f"'[true, false, true]', got {text!r}") from None
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        value = [value]
    if not isinstance(value, (list, tuple, np.ndarray)):
        raise InvalidInputError(name, f"expected a list of row indices or a boolean mask, got {value!r}")
    return list(value)


def parse_budgets(text: str | Sequence[float]) -> list[float]:
    """Budgets from ``"0,0.1,0.5"``, ``"[0, 0.1]"`` or ``"start:stop:num"`` (``numpy.linspace``).

    Raises
    ------
    InvalidInputError
        If the text is none of these forms.
    """
    if not isinstance(text, str):
        try:
            return [float(v) for v in text]
        except (TypeError, ValueError):
            raise InvalidInputError("budgets", f"expected a list of numbers, got {text!r}") from None
    s = text.strip()
    try:
        if s.startswith("["):
            return [float(v) for v in json.loads(s)]
        if ":" in s:
            parts = s.split(":")
            if len(parts) != 3:
                raise ValueError
            start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
            if num < 1:
                raise ValueError
            return [float(v) for v in np.linspace(start, stop, num)]
        return [float(v) for v in s.split(",") if v.strip()]
    except (ValueError, TypeError, json.JSONDecodeError):
        raise InvalidInputError("budgets", f"expected '0,0.1,0.5', '[0, 0.1]' or 'start:stop:num', got {s!r}") from None


def load_spec(path: str | Path) -> dict:
    """Read a TOML or JSON problem spec; arrays given as file names are loaded relative to it.

    Raises
    ------
    InvalidInputError
        Missing or unreadable file, bad syntax, missing or unknown ``family``,
        unknown keys for the family, or arrays that cannot be read.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InvalidInputError("spec", f"no such file: {path}")
    kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInputError("spec", f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError("spec", f"{path.name} is not UTF-8 text (byte {exc.start}: "
                                f"{raw[exc.start:exc.start + 1]!r}); a spec must be a {kind} text file") from None
    if "\x00" in text:
        raise InvalidInputError("spec", f"{path.name} is a binary file (it holds NUL bytes); a spec must be a {kind} "
                                "text file")
    try:
        if kind == "JSON":
            data = json.loads(text)
        else:
            import tomllib

            data = tomllib.loads(text)
    except (ValueError, json.JSONDecodeError) as exc:
        raise InvalidInputError("spec", f"{path.name} is not valid {kind}: {exc}") from None
    except RecursionError:
        raise InvalidInputError("spec", f"{path.name} is not valid {kind}: nested too deeply") from None
    if not isinstance(data, Mapping):
        raise InvalidInputError("spec", f"{path.name} must hold a table/object of settings")
    if "family" not in data:
        raise InvalidInputError("spec", f"{path.name} has no 'family' (one of {', '.join(_cli_names())})")
    family = _family(data["family"])
    allowed = set(_keys(family)) | set(_COMMON_KEYS)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InvalidInputError("spec", f"{path.name}: unknown key(s) {', '.join(unknown)} for family "
                                f"{family.cli_name}; allowed: {', '.join(sorted(allowed))}")
    spec = dict(data)
    spec["family"] = family.name
    for param in family.params:
        if param.name in spec:
            spec[param.name] = _read_value(param.kind, spec[param.name], param.name, path.parent)
    if "budgets" in spec:
        spec["budgets"] = parse_budgets(spec["budgets"])
    return spec


# ---------------------------------------------------------------- building


def _usable_memory() -> float:
    """Bytes a model may take: the share of physical memory a solve may use (:data:`mi_cvx.core.MEMORY_FRACTION`)."""
    from .core import MEMORY_FRACTION
    from .resources import machine_memory

    return MEMORY_FRACTION * machine_memory()


#: Bytes per ``m^2``, ``mn`` and ``n^2`` that building a Gaussian model and answering it on its exact path take
#: at their peak, beyond ``A`` itself (measured with tracemalloc: the CVXPY expressions of the factory, the
#: ``m x m`` ``Cov(X)`` and its eigen-decomposition; ``tests/test_cli.py`` checks that they bound the peak).
GAUSSIAN_BYTES = {"m*m": 336.0, "m*n": 200.0, "n*n": 128.0}


def _gaussian_bytes(m: int, n: int) -> tuple[float, float]:
    """Estimated peak bytes of a Gaussian model with an ``(m, n)`` ``A``: ``(A, the model and its exact path)``.

    ``A`` takes ``8 m n`` bytes; building the model and its exact path (an
    ``m x m`` eigen-decomposition) about ``336 m^2 + 200 m n + 128 n^2`` more
    (:data:`GAUSSIAN_BYTES`).  A conic solve needs far more; that is estimated
    by :meth:`mi_cvx.AttackProblem.solve`.
    """
    c = GAUSSIAN_BYTES
    return 8.0 * m * n, c["m*m"] * m * m + c["m*n"] * m * n + c["n*n"] * n * n


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.3g} GiB"


def check_gaussian_size(m: int, n: int, *, family: str, argument: str = "m") -> None:
    """Refuse, before anything is allocated, a Gaussian model whose data alone would not fit in memory.

    Parameters
    ----------
    m, n : int
        Rows and columns of ``A``.
    family : str
        For the message.
    argument : str
        The argument the error names (``"m"`` for a random projection, ``"A"``
        for a given matrix).

    Raises
    ------
    InvalidInputError
        If the estimate (:func:`_gaussian_bytes`) exceeds :func:`_usable_memory`;
        the message gives the size, the estimate and the largest sizes that fit.
    """
    data, model = _gaussian_bytes(m, n)
    usable = _usable_memory()
    if data + model <= usable:
        return
    # the largest m at this n (a m^2 + b m n + c n^2 <= usable, A included) and the largest square m = n
    a, b, c = GAUSSIAN_BYTES["m*m"], GAUSSIAN_BYTES["m*n"] + 8.0, GAUSSIAN_BYTES["n*n"]
    rest = usable - c * n * n
    m_at_n = int((-b * n + math.sqrt(b * b * n * n + 4.0 * a * rest)) / (2.0 * a)) if rest > 0 else 0
    side = int(math.sqrt(usable / (a + b + c)))
    works = f"at n={n} use m <= {m_at_n}" if m_at_n >= 1 else f"n={n} alone is too large"
    raise InvalidInputError(
        argument,
        f"{family} with m={m}, n={n} needs about {_gib(data + model)} before any solve (A: 8mn bytes = "
        f"{_gib(data)}; building the model and its exact path, an m x m eigen-decomposition: about "
        f"{a:.0f} m^2 + {b - 8:.0f} mn + {c:.0f} n^2 bytes = {_gib(model)}), more than the {_gib(usable)} this "
        f"machine allows; {works}, or m = n <= {side}",
    )


def _random_A(params: Mapping[str, Any], family: str) -> np.ndarray | None:
    given = [k for k in ("m", "n", "seed") if k in params]
    if "A" in params:
        if given:
            raise InvalidInputError("A", f"give either A or a random projection ({', '.join(given)}), not both")
        return params["A"]
    if not given:
        return None
    if "m" not in params or "n" not in params:
        raise InvalidInputError("m", "a random projection needs both m and n (and optionally seed)")
    from . import validate as _v

    m = _v.integer("m", params["m"], low=1)
    n = _v.integer("n", params["n"], low=1)
    seed = _v.integer("seed", params.get("seed", 0), low=0)
    check_gaussian_size(m, n, family=family)
    return np.random.default_rng(seed).normal(size=(m, n))


def _shape_of_A(A: Any) -> tuple[int, int] | None:
    """``(m, n)`` of a given ``A`` (a 1-d array is one row), or None when it is not a matrix (the factory says why)."""
    shape = np.shape(A) if isinstance(A, np.ndarray) else None
    if shape is None:
        try:
            shape = np.shape(np.asarray(A, dtype=float))
        except (TypeError, ValueError):
            return None
    if len(shape) == 1:
        return 1, int(shape[0])
    return (int(shape[0]), int(shape[1])) if len(shape) == 2 else None


def build_problem(params: Mapping[str, Any], *, budget_override: float | None = None):
    """Build the problem a spec describes, with the family's factory.

    The settings are read by the family's parameter schema
    (:attr:`mi_cvx.family.Family.params`): an ``observation`` matrix may be
    given as ``A`` or drawn from ``m``, ``n`` and ``seed`` (and defaults to
    the identity where the family allows), its size is checked against the
    machine's memory before anything is allocated, and ``indices`` are checked
    against its rows.

    Parameters
    ----------
    params : dict
        ``family`` plus the factory's arguments (as from :func:`load_spec`).
    budget_override : float, optional
        Use this budget instead of ``params["budget"]`` (sweeps).

    Returns
    -------
    AttackProblem

    Raises
    ------
    InvalidInputError
        Missing or inapplicable settings, or invalid values (from the factory).
    """
    family = _family(params["family"])
    p = dict(params)
    if budget_override is not None:
        p["budget"] = budget_override
    _check_keys(family, p)
    return family.factory(**_factory_kwargs(family, p))


def _factory_kwargs(family: Family, p: Mapping[str, Any]) -> dict[str, Any]:
    """The factory's keyword arguments from checked settings, read by the family's parameter schema."""
    from . import validate as _v

    kwargs: dict[str, Any] = {}
    rows: int | None = None
    p = _grid_settings(family, p)
    for param in family.params:
        if param.kind == "observation":
            A = _random_A(p, family.cli_name)
            if A is None and param.required:
                raise InvalidInputError("A", f"{family.cli_name} needs --A (inline JSON or a file) or --m and --n")
            if A is None:
                side = _side(p.get("signal_cov"), p.get("noise_cov"))
                check_gaussian_size(side, side, family=family.cli_name, argument="signal_cov")
                A = np.eye(side)
            shape = _shape_of_A(A)
            if shape is not None and "A" in p:
                check_gaussian_size(*shape, family=family.cli_name, argument="A")
            rows = None if shape is None else shape[0]
            kwargs[param.name] = A
        elif param.name in p:
            kwargs[param.name] = p[param.name]
        elif param.default is not None:
            kwargs[param.name] = param.default
        elif param.required:  # excused by one of param.unless: passed as None
            kwargs[param.name] = None
    for param in family.params:
        if param.kind == "indices" and param.name in kwargs and rows is not None:
            kwargs[param.name] = _v.row_indices(param.name, kwargs[param.name], rows)
    return kwargs


def _grid_settings(family: Family, p: Mapping[str, Any]) -> Mapping[str, Any]:
    """``p`` with an IEEE grid's ``A`` (and its ``signal_cov`` and ``noise_cov`` unless given) when ``grid`` is set.

    Raises
    ------
    InvalidInputError
        ``grid`` together with ``A``, ``m``, ``n`` or ``seed``, or bad values (named as the grid keys).
    """
    if "grid" not in p:  # grid_correlation or grid_snr alone: refused by _check_keys
        return p
    given = [k for k in ("A", *_RANDOM_KEYS) if k in p]
    if given:
        raise InvalidInputError("grid", f"give either grid or the observation matrix ({', '.join(given)}), not both")
    from .grids import grid_model

    options = {k.removeprefix("grid_"): p[k] for k in _GRID_KEYS[1:] if k in p}
    try:
        A, signal_cov, noise_cov = grid_model(p["grid"], **options)
    except InvalidInputError as exc:  # grid_model names its own arguments: case, correlation, snr
        key = "grid" if exc.argument == "case" else f"grid_{exc.argument}"
        text = str(exc).removeprefix(f"{exc.argument}: ")
        raise InvalidInputError(key if key in _GRID_KEYS else exc.argument, text) from None
    except ImportError as exc:
        raise MiCvxError(str(exc)) from None
    out = {k: v for k, v in p.items() if k not in _GRID_KEYS}
    out["A"] = A
    names = {param.name for param in family.params}
    for key, value in (("signal_cov", signal_cov), ("noise_cov", noise_cov)):
        if key in names:
            out.setdefault(key, value)
    return out


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _check_keys(family: Family, params: Mapping[str, Any]) -> None:
    """Every required setting present, none that the family does not take."""
    extra = sorted(set(params) - set(_COMMON_KEYS) - set(_keys(family)))
    if extra:
        takes = ", ".join(_flag(k) for k in _keys(family))
        raise InvalidInputError(_flag(extra[0]), f"does not apply to {family.cli_name} (it takes {takes})")
    orphans = [k for k in _GRID_KEYS[1:] if k in params] if "grid" not in params else []
    if orphans:
        raise InvalidInputError(orphans[0], "applies only with grid (an IEEE test system)")
    drawn = {p.name for p in family.params if p.kind == "observation"} \
        if any(r in params for r in _RANDOM_KEYS + ("grid",)) else set()  # drawn from m, n, seed, or a grid
    if "grid" in params:  # a grid's model gives the covariances too (mi_cvx.grids.grid_model)
        drawn |= {"signal_cov", "noise_cov"}
    excused = {p.name for p in family.params if any(other in params for other in p.unless)}
    missing = [k for k in family.required if k not in params and k not in drawn and k not in excused]
    if missing:
        raise InvalidInputError(_flag(missing[0]), f"is required by {family.cli_name}")


def _side(*covs) -> int:
    for cov in covs:
        if cov is not None and np.ndim(cov) == 2:
            return int(np.shape(cov)[0])
    raise InvalidInputError("A", "give --A (or --m/--n), or a covariance matrix from which the size can be read")


# ----------------------------------------------------------------- output


def _print_json(obj, out) -> None:
    json.dump(json_safe(obj), out, indent=2, allow_nan=False)
    out.write("\n")


def _frame_records(frame) -> list[dict]:
    return [json_safe(r) for r in frame.to_dict(orient="records")]


def _fmt_num(value, digits: int = 6) -> str:
    if value is None:
        return "-"
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "-" if math.isnan(value) else f"{value:.{digits}g}"


def _text_table(frame, columns: Sequence[str]) -> str:
    cols = [c for c in columns if c in frame.columns]
    view = frame[cols].copy()
    for c in cols:
        if view[c].dtype.kind == "f":
            view[c] = [_fmt_num(v, 6) for v in view[c]]
    return view.to_string(index=False)


# ---------------------------------------------------------------- commands


def _problem_params(args: argparse.Namespace) -> dict:
    """Merge a spec file and the command-line problem options (the options win)."""
    params: dict[str, Any] = {}
    if getattr(args, "spec", None):
        params.update(load_spec(args.spec))
    family = getattr(args, "family", None)
    if family is not None:
        fam = _family(family).name
        if "family" in params and params["family"] != fam:
            raise InvalidInputError("family", f"the command line says {fam} but the spec says {params['family']}")
        params["family"] = fam
    if "family" not in params:
        raise InvalidInputError("family", f"give a FAMILY ({', '.join(_cli_names())}) or --spec FILE")
    cwd = Path.cwd()
    kinds = _option_kinds()
    for key in _problem_options():
        if hasattr(args, key):
            params[key] = _read_value(kinds.get(key, "integer"), getattr(args, key), key, cwd)
    return params


def _solver_of(args, params) -> str | None:
    return getattr(args, "solver", None) or params.get("solver")


_OPTION_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _option_value(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def parse_solver_options(items: Sequence[str] | None, *, per_solver: bool = False) -> dict:
    """Solver options from repeated ``KEY=VALUE`` (or, ``per_solver``, ``SOLVER:KEY=VALUE``) arguments.

    Parameters
    ----------
    items : sequence of str or None
        The ``--option`` arguments.  ``VALUE`` is read as JSON (``1e-9``,
        ``true``, ``100``, ``"text"``, ``[1, 2]``) and otherwise kept as text
        (``--option method=qdldl``); a later key overrides an earlier one.
    per_solver : bool, default False
        Each item names its solver first (``SCS:eps_abs=1e-9``); the result is
        ``{SOLVER: {KEY: VALUE}}`` (as :func:`mi_cvx.compare_solvers` takes).

    Returns
    -------
    dict
        ``{KEY: VALUE}``, or ``{SOLVER: {KEY: VALUE}}`` with ``per_solver``.

    Raises
    ------
    InvalidInputError
        An item without ``=``, a key that is not an identifier, or (with
        ``per_solver``) without a ``SOLVER:`` prefix.
    """
    out: dict[str, Any] = {}
    form = "SOLVER:KEY=VALUE, e.g. SCS:eps_abs=1e-9" if per_solver else "KEY=VALUE, e.g. eps_abs=1e-9"
    for item in items or ():
        key, sep, value = str(item).partition("=")
        solver = ""
        if per_solver:
            solver, colon, key = key.partition(":")
            solver = solver.strip().upper()
            if not colon or not solver:
                raise InvalidInputError("option", f"expected {form}, got {item!r}")
        key = key.strip()
        if not sep or not _OPTION_KEY.fullmatch(key):
            raise InvalidInputError("option", f"expected {form}, got {item!r}")
        target = out.setdefault(solver, {}) if per_solver else out
        target[key] = _option_value(value.strip())
    return out


def cmd_solve(args: argparse.Namespace, out: TextIO) -> int:
    params = _problem_params(args)
    solver = _solver_of(args, params)
    params.pop("budgets", None)
    family = _family(params["family"])
    if family.search is not None:  # answered by a search in closed form, not by one conic problem
        for key, given in (("option", args.option), ("time_limit", args.time_limit), ("solver", solver)):
            if given is not None:
                raise InvalidInputError(key, f"does not apply to {family.cli_name} (it scores candidates in closed "
                                        "form, without a conic solve)")
        _check_keys(family, params)
        found = family.search(**_factory_kwargs(family, params))
        if args.json:
            _print_json({"family": family.name, **found.to_dict()}, out)
        else:
            out.write(found.text() + "\n")
        return 0
    options = parse_solver_options(args.option)
    if args.time_limit is not None:
        options["time_limit"] = args.time_limit
    problem = build_problem(params)
    result = problem.solve(solver, raise_on_failure=False, **options)
    if args.json:
        _print_json({"description": problem.description, **result.to_dict(include_attack=True)}, out)
    else:
        gap = result.oracle_gap
        out.write(
            f"problem     {problem.description}\n"
            f"status      {result.status} ({'ok' if result.ok else 'NOT OK'}) with {result.solver}\n"
            f"I*          {_fmt_num(result.mi)} nats = {_fmt_num(result.mi_bits)} bits\n"
            f"oracle      {_fmt_num(result.oracle)} nats (gap {_fmt_num(gap, 3)})\n"
            f"budget      used {_fmt_num(result.budget_used)}, multiplier {_fmt_num(result.dual_budget)}\n"
            f"residual    {_fmt_num(result.residual, 3)}; solve {_fmt_num(result.solve_time, 3)} s, "
            f"setup {_fmt_num(result.setup_time, 3)} s\n"
        )
        if result.gap is not None:
            out.write(f"certificate gap {_fmt_num(result.gap, 3)} nats (the {result.solver} route's bound on the "
                      "distance from the optimum)\n")
        if result.note:
            out.write(f"note        {result.note}\n")
        if result.kl is not None:
            out.write(f"stealth     KL(P_Z || P_X) {_fmt_num(result.kl)} nats; objective {_fmt_num(result.objective)}"
                      f"; cap multiplier {_fmt_num(result.dual_stealth)}\n")
        if not result.ok:
            out.write(f"message     {result.message}\n")
    if not result.ok:
        print(f"{PROG} solve: the solve was not accurate: {result.message}", file=sys.stderr)
        return 1
    return 0


def cmd_sweep(args: argparse.Namespace, out: TextIO) -> int:
    from .sweep import sweep

    params = _problem_params(args)
    family = _family(params["family"])
    if not family.budgeted:
        raise InvalidInputError("family", f"{family.cli_name} has no budget to sweep; use mi-cvx solve "
                                f"{family.cli_name}")
    budgets = parse_budgets(args.budgets) if args.budgets is not None else params.pop("budgets", None)
    params.pop("budgets", None)
    if not budgets:
        raise InvalidInputError("budgets", "give --budgets (e.g. 0:1:11 or 0,0.5,1) or 'budgets' in the spec")
    options = parse_solver_options(args.option)
    problem = build_problem(params, budget_override=budgets[0])
    frame = sweep(problem, budgets, solver=_solver_of(args, params), n_jobs=args.n_jobs, backend=args.backend,
                  out=args.out, scheduler=args.scheduler, progress=args.progress, solver_options=options or None)
    if args.json:
        _print_json({"description": problem.description, "rows": _frame_records(frame)}, out)
    elif args.csv:
        frame.to_csv(out, index=False)
    else:
        out.write(f"{problem.description}\n")
        columns = ["budget", "mi", "mi_bits", "ok", "solver", "oracle", "oracle_gap", "residual", "solve_time",
                   "error"]
        if frame["gap"].notna().any():
            columns.insert(5, "gap")
        out.write(_text_table(frame, columns) + "\n")
        if args.out:
            out.write(f"wrote {args.out}\n")
    failed = int((~frame["ok"]).sum())
    if failed:
        print(f"{PROG} sweep: {failed} of {len(frame)} points were not solved accurately (ok = False)",
              file=sys.stderr)
        return 1
    return 0


def cmd_compare(args: argparse.Namespace, out: TextIO) -> int:
    from .comparison import compare_solvers

    params = _problem_params(args)
    params.pop("budgets", None)
    options = parse_solver_options(args.option, per_solver=True)
    problem = build_problem(params)
    solvers = None if args.solvers is None else [s.strip() for s in args.solvers.split(",") if s.strip()]
    frame = compare_solvers(problem, solvers, repeats=args.repeats, solver_options=options or None)
    if args.json:
        _print_json({"problem": problem.description, "attrs": dict(frame.attrs), "rows": _frame_records(frame)},
                    out)
    elif args.csv:
        frame.to_csv(out, index=False)
    else:
        out.write(f"{problem.description}\n")
        out.write(_text_table(frame, ["solver", "status", "ok", "mi", "oracle_gap", "rel_error", "residual", "gap",
                                      "solve_time", "iterations"]) + "\n")
        for row in frame.itertuples():
            for text in (getattr(row, "error", ""), getattr(row, "note", "")):
                if isinstance(text, str) and text:
                    out.write(f"  {row.solver}: {text}\n")
    return 0


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    from .convexity import verify_convexity

    params = _problem_params(args)
    params.pop("budgets", None)
    options = parse_solver_options(args.option)
    problem = build_problem(params)
    report = verify_convexity(problem, trials=args.trials, seed=args.trial_seed, solver=_solver_of(args, params),
                              solver_options=options or None)
    if args.json:
        _print_json(report.to_dict(), out)
    elif args.csv:
        report.to_frame().to_csv(out, index=False)
    else:
        out.write(str(report) + "\n")
    return 0 if report.passed else 1


def _read_table(path_text: str) -> Any:
    """A CSV file as a pandas DataFrame (one-line errors naming ``--data``)."""
    import pandas as pd

    path = Path(path_text).expanduser()
    if not path.is_file():
        raise InvalidInputError("data", f"no such file: {path}")
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError("data", f"cannot read {path} as CSV: {_one_line(exc)}") from None
    if frame.empty:
        raise InvalidInputError("data", f"{path} holds no rows")
    return frame


def cmd_attack(args: argparse.Namespace, out: TextIO) -> int:
    """Fit a model from a data file, solve the optimal attack, attack the samples and write them."""
    from . import data as _data

    frame = _read_table(args.data)
    if args.target not in frame.columns:
        raise InvalidInputError("target", f"no column {args.target!r} in {args.data}; columns: "
                                f"{', '.join(map(str, frame.columns))}")
    features = ([c.strip() for c in args.features.split(",") if c.strip()] if args.features
                else [c for c in frame.columns if c != args.target])
    missing = [c for c in features if c not in frame.columns]
    if missing or not features or args.target in features:
        raise InvalidInputError("features", f"expected columns of {args.data} other than the target, got "
                                f"{args.features!r}" + (f" (no column {missing[0]!r})" if missing else ""))
    y = frame[args.target].to_numpy()
    options: dict[str, Any] = {"knows": args.knows}
    if args.stealth is not None:
        options["stealth"] = args.stealth
    if args.stealth_weight is not None:
        options["stealth_weight"] = args.stealth_weight
    if args.discrete:
        if len(features) != 1:
            raise InvalidInputError("features", "--discrete attacks one categorical feature: give --features COLUMN")
        x = frame[features[0]].to_numpy()
        fit: Any = _data.fit_discrete(x, y, smoothing=args.smoothing)
    else:
        bad = [c for c in features if not np.issubdtype(frame[c].dtype, np.number)]
        if bad:
            raise InvalidInputError("features", f"column {bad[0]!r} is not numeric (use --discrete for one "
                                    "categorical feature, or --features to choose numeric columns)")
        x = frame[features].to_numpy(dtype=float)
        shrinkage: Any = args.shrinkage
        if shrinkage is not None and shrinkage.strip().replace(".", "", 1).isdigit():
            shrinkage = float(shrinkage)  # a number in [0, 1], else a method's name
        fit = _data.fit_gaussian(y.astype(float), x, shrinkage=shrinkage)
    result = fit.attack_problem(args.budget, **options).solve(args.solver, raise_on_failure=False)
    if not result.ok:
        print(f"{PROG} attack: the solve was not accurate: {result.message}", file=sys.stderr)
        return EXIT_CODES["failed"]
    attacked = result.sample(x, y, rng=args.seed)
    written = frame.copy()
    if args.discrete:
        written[features[0]] = attacked
    else:
        written[features] = np.asarray(attacked).reshape(len(frame), len(features))
    if args.out:
        written.to_csv(args.out, index=False)
    effect = result.consequences()
    summary = {"family": result.family, "samples": len(frame), "features": features, "target": args.target,
               "budget": args.budget, "budget_used": result.budget_used, "solver": result.solver,
               **effect.to_dict(), "out": args.out}
    if args.json:
        _print_json(summary, out)
    else:
        out.write(f"model       {result.family} fitted on {len(frame)} samples ({len(features)} feature(s), target "
                  f"{args.target!r}); {result.solver}\n"
                  f"information {_fmt_num(effect.mi_before)} -> {_fmt_num(effect.mi_after)} nats\n")
        if effect.mmse_before is not None:
            out.write(f"MMSE        {_fmt_num(effect.mmse_before)} -> {_fmt_num(effect.mmse_after)} (the error of "
                      "the best estimator retrained on the attacked data)\n")
        else:
            out.write(f"Bayes error {_fmt_num(effect.bayes_error_before)} -> {_fmt_num(effect.bayes_error_after)}; "
                      f"no classifier does better than {_fmt_num(effect.fano_bound)} (Fano)\n")
        if args.out:
            out.write(f"wrote       {args.out}\n")
    return 0


def cmd_reproduce(args: argparse.Namespace, out: TextIO) -> int:
    from .reproduce import reproduce

    figures = None if args.figures is None else [f.strip() for f in args.figures.split(",") if f.strip()]
    report = reproduce(args.out, quick=args.quick, n_jobs=args.n_jobs, solver=args.solver, backend=args.backend,
                       scheduler=args.scheduler, progress=args.progress, figures=figures)
    if args.json:
        _print_json(report.to_dict(), out)
    else:
        out.write(str(report) + "\n")
    if not report.passed:
        print(f"{PROG} reproduce: some figures failed their checks; see {report.report}", file=sys.stderr)
        return 1
    return 0


# ------------------------------------------------------------------ parser


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2) instead of usage dumps, and no abbreviations."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _cli_names() -> list[str]:
    return [f.cli_name for f in _families().values()]


def _option_table() -> dict[str, tuple[str, str, tuple[str, ...], list[str]]]:
    """Every family parameter once: ``name -> (kind, help, choices, families using it)``, in registry order."""
    table: dict[str, tuple[str, str, tuple[str, ...], list[str]]] = {}
    for fam in _families().values():
        for param in fam.params:
            kind, text, choices, users = table.get(param.name, (param.kind, param.help, (), []))
            merged = choices + tuple(c for c in param.choices if c not in choices)
            if text != param.help:  # the families say it differently: the kind's own description
                text = PARAM_KINDS[kind]
            table[param.name] = (kind, text, merged, [*users, fam.cli_name])
            if param.kind == "observation":
                for key, help_text in (("m", "rows of a random N(0,1) observation matrix (with --n, --seed)"),
                                       ("n", "columns of a random observation matrix"),
                                       ("seed", "seed of the random observation matrix (0)")):
                    table.setdefault(key, ("integer", help_text, (), []))[3].append(fam.cli_name)
                for key, (kind, help_text, choices) in _grid_options().items():
                    table.setdefault(key, (kind, help_text, choices, []))[3].append(fam.cli_name)
    return table


def _grid_options() -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """The grid keys' rows of :func:`_option_table`: ``name -> (kind, help, choices)``."""
    from .grids import CASES, DEFAULT_CORRELATION, DEFAULT_SNR

    return {
        "grid": ("choice", "an IEEE test system's DC state-estimation model (mi_cvx.grids.grid_model) as the "
                 "observation matrix, with its signal and noise covariances unless given", CASES),
        "grid_correlation": ("number", f"spatial correlation of the grid's bus angles, in [0, 1) "
                             f"({DEFAULT_CORRELATION})", ()),
        "grid_snr": ("number", f"signal-to-noise ratio of the grid's measurements ({DEFAULT_SNR:g})", ()),
        "grid_injection_noise": ("number", "noise variance of the grid's injection meters relative to its flow "
                                 "meters (1: white noise)", ()),
    }


def _option_kinds() -> dict[str, str]:
    return {name: row[0] for name, row in _option_table().items()}


def _problem_options() -> tuple[str, ...]:
    """Names of every problem option (the union of the families' parameters)."""
    return tuple(_option_table())


_ARGPARSE_TYPES: dict[str, Callable[[str], Any]] = {"number": float, "budget": float, "nonneg": float,
                                                     "integer": int}
_METAVARS = {"array": "ARRAY", "observation": "ARRAY", "indices": "ROWS"}


def _problem_parent(with_budget: bool = True) -> _Parser:
    """The problem options, generated from the families' parameter schemas."""
    parent = _Parser(add_help=False)
    parent.add_argument("family", nargs="?", metavar="FAMILY", help="one of: " + ", ".join(_cli_names()))
    parent.add_argument("--spec", metavar="FILE",
                        help="TOML or JSON problem spec (keys: family and the factory's arguments; arrays inline or "
                             "as .npy/.csv/.json files relative to the spec); options given here override it")
    g = parent.add_argument_group("problem options (which apply depends on FAMILY)")
    for name, (kind, text, choices, users) in _option_table().items():
        if name == "budget" and not with_budget:
            continue
        every = len(set(users)) == len(_families())
        where = "" if every else ", ".join(dict.fromkeys(users)) + ": "
        kwargs: dict[str, Any] = {"dest": name, "default": argparse.SUPPRESS, "help": where + text}
        if kind in _ARGPARSE_TYPES:
            kwargs["type"] = _ARGPARSE_TYPES[kind]
        if choices:
            kwargs["choices"] = choices
        elif kind in _METAVARS:
            kwargs["metavar"] = _METAVARS[kind]
        g.add_argument(_flag(name), **kwargs)
    return parent


def _option_argument(p: argparse.ArgumentParser, *, per_solver: bool = False) -> None:
    if per_solver:
        p.add_argument("--option", action="append", metavar="SOLVER:KEY=VALUE",
                       help="a solver option for one of the solvers, e.g. SCS:eps_abs=1e-9 (repeatable; VALUE is "
                            "JSON, else text)")
    else:
        p.add_argument("--option", action="append", metavar="KEY=VALUE",
                       help="a solver option passed to cvxpy.Problem.solve, e.g. eps_abs=1e-9 or max_iter=500 "
                            "(repeatable; VALUE is JSON, else text)")


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _parallel_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("execution")
    g.add_argument("--n-jobs", dest="n_jobs", type=int, default=1, help="local worker processes (-1: all cores)")
    g.add_argument("--backend", choices=("loky", "dask"), default="loky", help="joblib processes or a Dask cluster")
    g.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://host:8786")
    g.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: on in a terminal for long sweeps)")


def _format_options(p: argparse.ArgumentParser, csv: bool = True) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    if csv:
        g.add_argument("--csv", action="store_true", help="the table as CSV on stdout")


def build_parser() -> argparse.ArgumentParser:
    """The ``mi-cvx`` argument parser."""
    from . import __version__

    parser = _Parser(prog=PROG, description="Information-theoretically optimal adversarial attacks by convex "
                     "optimisation (CVXPY).", formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog="families:\n" + "\n".join(f"  {f.cli_name:<17} {f.summary}" for f in _families().values())
                     + "\n\nRun 'mi-cvx COMMAND --help' for a command's options.\n\n" + _EXIT_EPILOG)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    fmt = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser("solve", parents=[_problem_parent()], formatter_class=fmt, help="solve one attack problem",
                       description="Solve one attack problem and print I* (nats and bits), the status, the oracle "
                                   "gap and the budget used.\n\nexamples:\n"
                                   "  mi-cvx solve gaussian-scalar --signal-var 1 --noise-var 0.5 --budget 0.3\n"
                                   "  mi-cvx solve gaussian-vector --m 4 --n 6 --seed 1 --budget 2 --json\n"
                                   "  mi-cvx solve binary-channel --p-xy '[[0.4,0.1],[0.1,0.4]]' --budget 0.1\n"
                                   "  mi-cvx solve subset-attack --signal-cov '[[1,0],[0,2]]' --noise-cov 0.1 --k 1\n"
                                   "  mi-cvx solve gaussian-vector --m 4 --n 6 --budget 2 --formulation compact\n"
                                   "  mi-cvx solve binary-channel --p-xy '[[0.4,0.1],[0.1,0.4]]' --budget 0.1 "
                                   "--formulation transport\n"
                                   "  mi-cvx solve gaussian-scalar --budget 0.3 --noise-var 0.5 --solver SCS "
                                   "--option eps_abs=1e-9 --option eps_rel=1e-9\n"
                                   "  mi-cvx solve --spec examples/spec_vector.json",
                       epilog=_EXIT_EPILOG)
    p.add_argument("--solver", help="CVXPY solver (CLARABEL, SCS, MOSEK, CVXOPT, ECOS) or the problem's certified "
                                    "route (TRANSPORT, BLIND_DESCENT, BLAHUT_ARIMOTO, BLIND_SIMPLEX); default: the "
                                    "package's chain of backends (with --formulation auto, routes chosen by size)")
    _option_argument(p)
    p.add_argument("--time-limit", dest="time_limit", type=_positive_seconds, metavar="SECONDS",
                   help="refuse a solve estimated to take longer (exit 3) unless an exact path answers it")
    _format_options(p, csv=False)
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("sweep", parents=[_problem_parent(with_budget=False)], formatter_class=fmt,
                       help="solve over a grid of budgets",
                       description="Solve one problem at many budgets (re-solving through its budget Parameter), "
                                   "optionally in parallel, appending each point to a resumable CSV file.\n\n"
                                   "examples:\n"
                                   "  mi-cvx sweep gaussian-scalar --signal-var 1 --noise-var 0.1 --budgets 0:1:11\n"
                                   "  mi-cvx sweep gaussian-vector --m 8 --n 8 --budgets 0.5,1,2,4 --out s.csv "
                                   "--n-jobs 2")
    p.add_argument("--budgets", help="'0,0.1,0.5', '[0, 0.1]' or 'start:stop:num' (linspace)")
    p.add_argument("--out", metavar="CSV", help="append each finished point here; rerun to resume")
    p.add_argument("--solver", help="CVXPY solver or certified route (default: the package's choice per point)")
    _option_argument(p)
    _parallel_options(p)
    _format_options(p)
    p.epilog = _EXIT_EPILOG
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("compare", parents=[_problem_parent()], formatter_class=fmt,
                       help="compare solver backends on one problem",
                       description="Solve one problem with every installed conic solver (or --solvers) and "
                                   "tabulate status, information, oracle gap, residual and time.\n\nexample:\n"
                                   "  mi-cvx compare gaussian-scalar --signal-var 1 --noise-var 0.5 --budget 0.3")
    p.add_argument("--solvers", help="comma-separated solver or route names (default: every installed backend, "
                                     "then the problem's certified route)")
    p.add_argument("--repeats", type=int, default=1, help="solves per solver; the time is the median")
    _option_argument(p, per_solver=True)
    _format_options(p)
    p.epilog = _EXIT_EPILOG
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("verify", parents=[_problem_parent()], formatter_class=fmt,
                       help="check Lemma 2.1 (convexity) on one problem",
                       description="Check the convexity claim of Lemma 2.1 on one problem: DCP/DPP certificates, "
                                   "random Jensen tests in the attack distribution, the value function I*(D).\n\n"
                                   "example:\n  mi-cvx verify gaussian-scalar --signal-var 1 --noise-var 0.5 "
                                   "--budget 0.3 --trials 50")
    p.add_argument("--trials", type=int, default=200, help="random pairs per numerical test")
    p.add_argument("--trial-seed", dest="trial_seed", type=int, default=0, help="seed of the random tests")
    p.add_argument("--solver", help="CVXPY solver for the model solves")
    _option_argument(p)
    _format_options(p)
    p.epilog = _EXIT_EPILOG
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("attack", formatter_class=fmt, help="fit a model from a CSV file and attack its samples",
                       description="Fit X = A Y + N (or, with --discrete, the joint pmf of one categorical feature "
                                   "and the target) from a CSV file, solve the optimal attack at the budget, draw the "
                                   "attacked samples, write them, and print what the attack does to the best "
                                   "estimator retrained on them.\n\nexample:\n"
                                   "  mi-cvx attack --data data.csv --target y --budget 0.5 --out attacked.csv",
                       epilog=_EXIT_EPILOG)
    p.add_argument("--data", required=True, metavar="CSV", help="the samples, one row each, with a header")
    p.add_argument("--target", required=True, metavar="COLUMN", help="the label Y")
    p.add_argument("--features", metavar="COLUMNS", help="comma-separated feature columns (default: all others)")
    p.add_argument("--budget", type=float, required=True,
                   help="power budget E||Delta||^2 (in the features' units), or expected distortion with --discrete")
    p.add_argument("--discrete", action="store_true", help="one categorical feature and a categorical target")
    p.add_argument("--knows", choices=("x_and_y", "x", "nothing"), default="x_and_y", help="the attacker model")
    p.add_argument("--stealth", type=float, help="cap on KL(P_Z || P_X) (nats)")
    p.add_argument("--stealth-weight", dest="stealth_weight", type=float, help="minimise I + weight * KL")
    p.add_argument("--shrinkage", help="covariance shrinkage: ledoit_wolf or a number in [0, 1]")
    p.add_argument("--smoothing", type=float, default=0.0, help="--discrete: additive smoothing of the counts")
    p.add_argument("--seed", type=int, default=0, help="seed of the attack's random draws")
    p.add_argument("--solver", help="CVXPY solver (default: the package's chain)")
    p.add_argument("--out", metavar="CSV", help="write the attacked samples here")
    _format_options(p, csv=False)
    p.set_defaults(func=cmd_attack)

    p = sub.add_parser("reproduce", formatter_class=fmt, help="regenerate the paper's Figures 3-6 and REPORT.md",
                       description="Regenerate Figures 3-6 of the paper (plus a redundancy figure and the water "
                                   "levels of a projection attack) as PNG + CSV, and REPORT.md comparing them with "
                                   "the paper's claims.\n\nexample:\n  mi-cvx reproduce --out figures --n-jobs 2")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    p.add_argument("--quick", action="store_true", help="small grids: a smoke run in seconds")
    p.add_argument("--figures", help="comma-separated subset of fig3,fig4,fig5,fig6,redundancy,water_levels")
    p.add_argument("--solver", help="CVXPY solver (default CLARABEL)")
    _parallel_options(p)
    _format_options(p, csv=False)
    p.epilog = _EXIT_EPILOG
    p.set_defaults(func=cmd_reproduce)
    return parser


def main(argv: Sequence[str] | None = None, *, stdout=None) -> int:
    """Run ``mi-cvx``; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default ``sys.argv[1:]``).
    stdout : file, optional
        Where results go (default ``sys.stdout``); messages go to stderr.

    Returns
    -------
    int
        0 success, 1 failed solve or check (or another mi_cvx error), 2 bad input (including data too large
        for memory and any ``MemoryError``), 3 a solve refused as beyond this machine's reach
        (:class:`~mi_cvx.errors.ResourceLimitError`), 130 interrupted; see :data:`EXIT_CODES`.
    """
    out = stdout or sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    command = f"{PROG} {args.command}"
    handler: Callable[[argparse.Namespace, Any], int] = args.func
    try:
        return handler(args, out)
    except InvalidInputError as exc:
        arg = exc.argument
        text = str(exc)[len(arg) + 2:] if str(exc).startswith(f"{arg}: ") else str(exc)
        if arg in _problem_options() or arg in ("budgets", "option", "time_limit") or (
                arg.isidentifier() and arg != "family" and hasattr(args, arg)):  # an option (attack's --data)
            arg = _flag(arg)
        print(f"{command}: error: {arg}: {_one_line(text)}", file=sys.stderr)
        return EXIT_CODES["bad_input"]
    except UnsupportedSolverError as exc:
        print(f"{command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_CODES["bad_input"]
    except ResourceLimitError as exc:
        print(f"{command}: refused: {_one_line(exc)}", file=sys.stderr)
        return EXIT_CODES["beyond_reach"]
    except MiCvxError as exc:
        print(f"{command}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_CODES["failed"]
    except MemoryError as exc:
        detail = f" ({_one_line(exc)})" if str(exc) else ""
        print(f"{command}: error: out of memory{detail}; the problem is too large for this machine: use a smaller "
              "model (fewer rows m or columns n)", file=sys.stderr)
        return EXIT_CODES["bad_input"]
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return EXIT_CODES["interrupted"]
    except BrokenPipeError:  # e.g. piped into head
        return 0
    except OSError as exc:  # unwritable output, full disk, ...
        print(f"{command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1


def _one_line(exc: BaseException | str) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
