"""The rows of a sweep: their columns, the resumable CSV store, and problem fingerprints.

A sweep's rows are keyed by their key columns (grid keys or problem
parameters, then ``budget``) and hold :data:`RESULT_COLUMNS`.  Every cell is
written as exact round-trip text (:func:`_cell`), so a frame built in memory
and one read back from an ``out`` file are the same (:func:`_frame`).

:class:`_CsvAppender` appends whole lines, each with one ``write`` call and
``fsync``-ed, and reads back what a file already holds for a resumed sweep.
The last column of a file, :data:`FINGERPRINT_COLUMN`, holds the
:func:`problem_fingerprint` of the problem behind each row;
:func:`_check_fingerprints` refuses a file holding rows of another problem.

Nothing here solves anything: this module imports no other part of
:mod:`mi_cvx.sweep`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import cvxpy as cp
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..core import AttackProblem
from ..errors import InvalidInputError, MiCvxError

if TYPE_CHECKING:
    from scipy.sparse._base import _spbase  # every scipy sparse array and matrix (what sp.issparse accepts)

#: Columns every sweep frame has after its key columns (grid keys, problem
#: parameters and ``budget``).  ``solver`` is the backend that produced the row
#: (with the default chain, the one that succeeded, ``"EXACT"`` for a
#: family's exact path, or a certified route such as ``"TRANSPORT"``, whose
#: certificate is ``gap``) and ``note`` says how, e.g. after which fallbacks.
RESULT_COLUMNS: tuple[str, ...] = (
    "mi",
    "mi_bits",
    "ok",
    "status",
    "error",
    "solver",
    "note",
    "solve_time",
    "setup_time",
    "iterations",
    "oracle",
    "oracle_gap",
    "residual",
    "mi_check",
    "budget_used",
    "dual_budget",
    "kl",
    "objective",
    "dual_stealth",
    "gap",
)

#: Last column of an ``out`` file: the :func:`problem_fingerprint` of the row's problem.
FINGERPRINT_COLUMN = "fingerprint"

#: Bumped whenever what :func:`problem_fingerprint` hashes changes.
_FINGERPRINT_VERSION = "mi_cvx.sweep fingerprint v1"


# ------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class _FingerprintSpec:
    """How a worker fingerprints the problem it built (see :func:`problem_fingerprint`)."""

    solver: str | None
    options: dict
    exclude: tuple[str, ...]

    def of(self, problem: AttackProblem) -> str:
        return problem_fingerprint(problem, self.solver, self.options, exclude=self.exclude)


@dataclass
class _Plan:
    """What a sweep produces: its points and budgets, their key columns, and how its rows are fingerprinted."""

    key_columns: list[str]
    points: list[dict]  # the key values written for each point (without budget)
    point_args: list[dict]  # what the source needs to build / set each point
    budgets: list[float]
    solver: str | None  # None: the default chain of AttackProblem.solve
    options: dict = field(default_factory=dict)
    fingerprint: str | None = None  # one problem for every point (sweep)
    fingerprint_spec: _FingerprintSpec | None = None  # one problem per point, fingerprinted where built (sweep_grid)

    @property
    def columns(self) -> list[str]:
        return [*self.key_columns, *RESULT_COLUMNS]

    def key(self, point_index: int, budget: float) -> tuple[str, ...]:
        values = self.points[point_index]
        return tuple(_cell(values[c]) for c in self.key_columns[:-1]) + (_cell(float(budget)),)


# --------------------------------------------------------------- fingerprints


def problem_fingerprint(
    attack_problem: AttackProblem,
    solver: str | None = None,
    solver_options: Mapping[str, Any] | None = None,
    *,
    exclude: Iterable[str] = ("budget",),
) -> str:
    """A stable hash of what a sweep row depends on besides its key columns.

    It covers the problem's family, its scalar ``spec`` entries (``knows``,
    ``formulation``, ...), the whole CVXPY model -- every atom, the shapes and
    attributes of the variables, every constant by dtype, shape and bytes, the
    custom constraints -- the values of the problem's parameters not in
    ``exclude``, the values of any other ``cp.Parameter`` in the model (e.g.
    carried in by a custom constraint), the family's default solve options,
    and ``solver`` and ``solver_options``.  Parameters in ``exclude`` enter by
    name and shape only: their values are the sweep's columns.

    Variables enter by their order of appearance, not by CVXPY's ids or names,
    so equal problems built twice, in any process or session, have equal
    fingerprints; the initial value of an excluded parameter (the budget a
    problem was built with) does not matter.  Data derived in floating point
    (an eigendecomposition, say) can differ in its last bits between machines
    or library versions; the fingerprint then differs too, which refuses a
    resume rather than mixing rows.

    Parameters
    ----------
    attack_problem : AttackProblem
    solver : str, optional
        The solver the rows are solved with (None: the default chain).
    solver_options : dict, optional
        Options passed to :meth:`AttackProblem.solve`.
    exclude : iterable of str, default ("budget",)
        Parameters whose values are not part of the fingerprint.

    Returns
    -------
    str
        20 hexadecimal digits (the start of a SHA-256 digest).
    """
    hasher = _Hasher()
    excluded = set(exclude)
    public = {id(param): name for name, param in attack_problem.parameters.items()}
    hasher.feed(_FINGERPRINT_VERSION)
    hasher.feed(("family", attack_problem.family, "custom", bool(attack_problem.custom)))
    spec = {k: v for k, v in attack_problem.spec.items()
            if isinstance(v, (str, bool, int, float, np.integer, np.floating)) and k not in attack_problem.parameters}
    hasher.feed(("spec", sorted(spec.items())))
    values = {k: p.value for k, p in attack_problem.parameters.items() if k not in excluded}
    hasher.feed(("parameters", sorted(attack_problem.parameters), "values", sorted(values.items(), key=str)))
    hasher.feed(("solver", "default chain" if solver is None else str(solver).upper()))
    hasher.feed(("options", sorted({**attack_problem.solve_options, **(solver_options or {})}.items(), key=str)))
    hasher.model(attack_problem.problem, public)
    return hasher.hexdigest()[:20]


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


class _Hasher:
    """Feeds values into SHA-256 as a tagged, length-prefixed stream (no ambiguity, no ``hash()``)."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._seen: dict[int, int] = {}  # id(cvxpy object) -> order of first appearance
        self._keep: list[Any] = []  # keeps visited objects alive, so their ids stay theirs
        self._public: dict[int, str] = {}

    def hexdigest(self) -> str:
        return self._sha.hexdigest()

    def _put(self, tag: str, payload: bytes = b"") -> None:
        self._sha.update(f"{tag}:{len(payload)}:".encode())
        self._sha.update(payload)

    def model(self, problem: cp.Problem, public: dict[int, str]) -> None:
        self._public = public
        self._put("objective", type(problem.objective).__name__.encode())
        self.feed(problem.objective.args[0])
        self._put("constraints", str(len(problem.constraints)).encode())
        for con in problem.constraints:
            self.feed(con)

    def feed(self, value: Any) -> None:
        """Hash ``value`` (walked depth-first without recursion: CVXPY trees can be deep)."""
        stack = [value]
        while stack:
            stack.extend(reversed(self._one(stack.pop())))

    def _one(self, value: Any) -> list:  # noqa: C901 - one branch per kind of value
        """Hash ``value`` itself; return its children, to be fed next in order."""
        if value is None or isinstance(value, (bool, np.bool_)):
            self._put("atom", repr(None if value is None else bool(value)).encode())
        elif isinstance(value, (int, np.integer)):
            self._put("int", str(int(value)).encode())
        elif isinstance(value, (float, np.floating)):
            self._put("float", repr(float(value)).encode())
        elif isinstance(value, str):
            self._put("str", value.encode())
        elif isinstance(value, (slice, type(Ellipsis))):
            self._put("slice", repr(value).encode())
        elif isinstance(value, (cp.Expression, cp.Constraint)):
            return self._node(value)
        elif isinstance(value, (np.ndarray, np.generic)):
            arr = np.asarray(value)
            if arr.dtype == object:
                self._put("objects", repr(arr.shape).encode())
                return list(arr.ravel())
            arr = np.ascontiguousarray(arr)
            self._put("array", repr((arr.shape, arr.dtype.str)).encode())
            self._put("buffer", arr.tobytes())
        elif sp.issparse(value):
            mat = sp.csr_matrix(cast("_spbase", value), copy=True)
            mat.sum_duplicates()
            mat.sort_indices()
            self._put("sparse", repr((mat.shape, mat.data.dtype.str)).encode())
            for part in (mat.data, mat.indices.astype(np.int64), mat.indptr.astype(np.int64)):
                self._put("buffer", np.ascontiguousarray(part).tobytes())
        elif isinstance(value, Mapping):
            self._put("dict", str(len(value)).encode())
            return [item for key in sorted(value, key=str) for item in (str(key), value[key])]
        elif isinstance(value, (list, tuple)):
            self._put(type(value).__name__, str(len(value)).encode())
            return list(value)
        else:  # e.g. a Fraction; an address in a repr would not be stable across processes
            self._put("object", f"{type(value).__module__}.{type(value).__qualname__}:".encode()
                      + _ADDRESS.sub("", repr(value)).encode())
        return []

    def _node(self, node: cp.Expression | cp.Constraint) -> list:
        """A CVXPY expression or constraint, by structure; shared sub-expressions by back-reference."""
        seen = self._seen.get(id(node))
        if seen is not None:
            self._put("ref", str(seen).encode())
            return []
        self._seen[id(node)] = len(self._seen)
        self._keep.append(node)
        kind = type(node).__name__
        shape = repr(tuple(getattr(node, "shape", ())))
        if isinstance(node, cp.Variable):
            self._put("variable", shape.encode())
            return [_attributes(node)]
        if isinstance(node, cp.Parameter):
            name = self._public.get(id(node))
            if name is not None:  # the problem's own parameter: by name (its value is fed separately)
                self._put("parameter", f"{name}{shape}".encode())
                return [_attributes(node)]
            self._put("parameter*", shape.encode())  # any other parameter is data: by value
            return [_attributes(node), node.value]
        if isinstance(node, cp.Constant):
            self._put("constant", shape.encode())
            return [node.value]
        if isinstance(node, cp.Constraint):
            data = list(node.get_data() or [])
            if data and isinstance(data[-1], int) and data[-1] == node.id:
                data = data[:-1]  # CVXPY's constraint data ends with the id
            self._put("constraint", kind.encode())
            return [data, list(node.args)]
        self._put("expression", f"{kind}{shape}".encode())
        atom = cast(_Atom, node)  # not a leaf: an atom
        return [atom.get_data(), list(atom.args)]


class _Atom(Protocol):
    """What :class:`_Hasher` reads of a CVXPY atom.

    (CVXPY annotates the base ``get_data`` as returning None, and declares
    ``args`` in the subclasses only.)
    """

    args: list[Any]

    def get_data(self) -> list[Any] | None: ...


def _attributes(leaf: cp.Variable | cp.Parameter) -> dict:
    """A leaf's CVXPY attributes (nonneg, symmetric, bounds, ...) that are set."""
    attributes = getattr(leaf, "attributes", {}) or {}
    return {k: v for k, v in attributes.items() if v is not None and v is not False}


# ------------------------------------------------------------------- CSV I/O

def _cell(value: Any) -> str:
    """One CSV cell: exact round-trip text (repr for floats, JSON for arrays)."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return repr(value) if math.isfinite(value) else ("" if math.isnan(value) else repr(value))
    if isinstance(value, str):
        return value
    arr = np.asarray(value)
    if arr.ndim == 0:
        return _cell(arr.item())
    return json.dumps(arr.tolist(), separators=(",", ":"))


def _row_cells(plan: _Plan, row: dict) -> list[str]:
    values = plan.points[row["_point"]]
    cells = [_cell(values[c]) for c in plan.key_columns[:-1]]
    cells.append(_cell(float(row["budget"])))
    cells.extend(_cell(row.get(c)) for c in RESULT_COLUMNS)
    return cells


def _line(cells: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue().encode("utf-8")


def _frame(columns: list[str], rows: list[list[str]]) -> pd.DataFrame:
    """Parse rows of cells exactly as a resumed file is parsed, so both paths agree."""
    text = b"".join([_line(columns), *(_line(r) for r in rows)]).decode("utf-8")
    text_columns = {"status": str, "error": str, "solver": str, "note": str}
    frame = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""], dtype=text_columns)
    for col in text_columns:
        frame[col] = frame[col].fillna("")
    frame["ok"] = frame["ok"].astype(str).eq("True")
    return frame


class _CsvAppender:
    """Append whole CSV lines with one ``os.write`` each, fsync-ed; resume from what is there.

    The file's columns are the sweep's columns and, last, :data:`FINGERPRINT_COLUMN`.
    """

    def __init__(self, path: Path):
        self.path = path
        self.columns: list[str] = []
        self.fd: int | None = None
        self._check_writable()

    @classmethod
    def for_path(cls, out: str | os.PathLike | None) -> _CsvAppender | None:
        """An appender for ``out`` (None for None), checked before anything is built or solved.

        Raises
        ------
        InvalidInputError
            Naming ``out``: not a path, a directory, a missing or unwritable
            directory, or a file that cannot be opened for appending.
        """
        if out is None:
            return None
        try:
            path = Path(out)
        except TypeError:
            raise InvalidInputError("out", f"expected a file path, got {out!r}") from None
        return cls(path)

    @property
    def parent(self) -> Path:
        return self.path.parent if str(self.path.parent) else Path(".")

    def _check_writable(self) -> None:
        path, parent = self.path, self.parent
        if path.is_dir():
            raise InvalidInputError("out", f"{path} is a directory, expected a CSV file path")
        if not parent.exists():
            raise InvalidInputError("out", f"directory {parent} does not exist")
        if not parent.is_dir():
            raise InvalidInputError("out", f"{parent} is not a directory")
        try:
            if path.exists():
                os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
            else:  # what existing() will do: create a file in the directory
                fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
                os.close(fd)
                os.unlink(probe)
        except OSError as exc:
            reason = (exc.strerror or str(exc) or type(exc).__name__).splitlines()[0]
            what = (f"file {path} is not writable (opening it to append failed: {reason})" if path.exists() else
                    f"directory {parent} is not writable (creating a file there failed: {reason})")
            raise InvalidInputError("out", f"{what}; choose another path") from None

    def existing(self, columns: list[str], n_keys: int) -> dict[tuple, list[str]]:
        """The rows already in the file (key -> cells, fingerprint last); creates it with the header if absent.

        Raises
        ------
        InvalidInputError
            The file has other columns (another sweep, or no fingerprint
            column), a malformed line, or cannot be read or written.
        """
        self.columns = [*columns, FINGERPRINT_COLUMN]
        try:
            return self._existing(n_keys)
        except OSError as exc:
            raise InvalidInputError("out", f"cannot use {self.path}: {exc.strerror or exc}") from None

    def _existing(self, n_keys: int) -> dict[tuple, list[str]]:
        header = _line(self.columns)
        if not self.path.exists() or self.path.stat().st_size == 0:
            # Create with the header by write-then-rename: the file never exists half-written.
            fd, tmp = tempfile.mkstemp(dir=self.parent, prefix=f".{self.path.name}.", suffix=".tmp")
            try:
                os.write(fd, header)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            self._open()
            return {}
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            # A partial last line (only possible if something else wrote it): drop it.
            cut = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as fh:
                fh.truncate(cut)
                fh.flush()
                os.fsync(fh.fileno())
            data = data[:cut]
        reader = csv.reader(io.StringIO(data.decode("utf-8")))
        try:
            found = next(reader)
        except StopIteration:
            found = []
        if found != self.columns:
            if found and FINGERPRINT_COLUMN not in found:
                raise InvalidInputError(
                    "out", f"{self.path} has no {FINGERPRINT_COLUMN!r} column (written by an older mi_cvx), so "
                    "its rows cannot be matched to this problem; use another file or delete it")
            raise InvalidInputError(
                "out", f"{self.path} holds another sweep (columns {found}); expected {self.columns}. "
                "Use a new file name.")
        done: dict[tuple, list[str]] = {}
        for lineno, cells in enumerate(reader, start=2):
            if len(cells) != len(self.columns):
                raise InvalidInputError("out", f"{self.path} line {lineno} has {len(cells)} fields, "
                                        f"expected {len(self.columns)}")
            done[tuple(cells[:n_keys])] = cells
        self._open()
        return done

    def _open(self) -> None:
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def append(self, cells: list[str]) -> None:
        if self.fd is None:  # pragma: no cover - a bug, not a user error
            raise MiCvxError(f"{self.path} is not open for appending: call existing() first")
        line = _line(cells)
        written = os.write(self.fd, line)
        if written != len(line):  # pragma: no cover - regular files write whole small buffers
            raise OSError(f"short write to {self.path}")
        os.fsync(self.fd)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# -------------------------------------------------------------------- resume


def _check_fingerprints(plan: _Plan, problem_at: Callable[[int, dict], AttackProblem], path: Path,
                        found: dict[tuple, list[str]]) -> None:
    """Refuse an ``out`` file holding rows of another problem than the one this sweep solves.

    With one problem (:func:`~mi_cvx.sweep.sweep`) every row of the file must
    carry its fingerprint.  With one problem per grid point
    (:func:`~mi_cvx.sweep.sweep_grid`) the rows of each of this sweep's points
    must carry the fingerprint of the problem built at that point, which
    ``problem_at(point_index, point_args)`` returns (built only for points
    that have rows in the file).

    Raises
    ------
    InvalidInputError
        Naming ``out``, the file and both fingerprints.
    """
    if not found:
        return

    def refuse(theirs: str, ours: str, where: str = "") -> None:
        raise InvalidInputError(
            "out", f"{path} holds rows of another problem{where} (fingerprint {theirs or 'missing'}, this sweep's "
            f"is {ours}); use another file or delete it")

    if plan.fingerprint is not None:
        for cells in found.values():
            if cells[-1] != plan.fingerprint:
                refuse(cells[-1], plan.fingerprint)
        return
    spec = plan.fingerprint_spec
    if spec is None:  # pragma: no cover - a writer always comes with a fingerprint
        raise MiCvxError("sweep: an output file without a fingerprint")
    by_point: dict[tuple, set[str]] = {}
    for key, cells in found.items():
        by_point.setdefault(key[:-1], set()).add(cells[-1])
    for i, values in enumerate(plan.points):
        prefix = tuple(_cell(values[c]) for c in plan.key_columns[:-1])
        theirs = by_point.get(prefix)
        if not theirs:
            continue
        ours = spec.of(problem_at(i, plan.point_args[i]))
        for fingerprint in sorted(theirs):
            if fingerprint != ours:
                where = " at " + ", ".join(f"{c}={values[c]!r}" for c in plan.key_columns[:-1])
                refuse(fingerprint, ours, where)
