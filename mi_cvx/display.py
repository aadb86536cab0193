"""Compact display of results: short ``repr`` strings and small self-contained HTML tables.

Results hold arrays whose size grows with the problem; their ``repr`` must
stay readable whatever the size.  The helpers here render

* a value in a few characters (:func:`summarise`: numbers to 6 significant
  digits, an array as its shape and range, or its values when it has at most
  four);
* an object as ``Name(field=..., ...)`` in fewer than ``limit`` characters
  (:func:`short_repr`);
* an object as a compact HTML table for notebooks (:func:`html_table`): a
  header with a title and an ok / not-ok badge, one row per field, every text
  escaped with :func:`html.escape`, inline styles only (no external CSS or
  JS).

The ``attack_result_*`` and ``convexity_report_*`` functions render
:class:`mi_cvx.core.AttackResult` and
:class:`mi_cvx.convexity.ConvexityReport`; they only read attributes, so this
module imports nothing else from the package.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "REPR_LIMIT",
    "Verbatim",
    "attack_result_html",
    "attack_result_repr",
    "convexity_report_html",
    "convexity_report_repr",
    "html_table",
    "short_repr",
    "summarise",
]

#: Default bound on the length of a ``repr`` (characters; the repr is shorter).
REPR_LIMIT = 300
#: Arrays with at most this many entries are shown in full.
_FEW = 4
#: Longest text shown by :func:`summarise` for a string or an unknown object.
_TEXT = 80
#: Entries shown of a mapping or a non-numeric sequence.
_ENTRIES = 8
#: Longest check detail in a convexity report's table.
_DETAIL = 160

_COLOURS = {"ok": "#1a7f37", "not ok": "#cf222e", "passed": "#1a7f37", "failed": "#cf222e",
            "skipped": "#9a6700", "info": "#6e7781", "unknown": "#6e7781"}
_FONT = "font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; font-size: 12px"
_CELL = "padding: 2px 8px; border-top: 1px solid #d0d7de; text-align: left; vertical-align: top"


class Verbatim(str):
    """A string :func:`summarise` shows as it is (no quotes), e.g. a value with its unit."""


# ------------------------------------------------------------------ values


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 3, 0)] + "..."


def _number(x: Any) -> str:
    """An int in full, a real to 6 significant digits, a complex number likewise."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, numbers.Integral):
        return str(int(x))
    if isinstance(x, numbers.Real):
        return f"{float(x):.6g}"
    if isinstance(x, numbers.Complex):
        return f"{complex(x):.6g}"
    return _shorten(repr(x), _TEXT)


def _is_numeric_sequence(value: Any) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) > 0
            and all(isinstance(v, numbers.Number) and not isinstance(v, (bool, np.bool_)) for v in value))


def _array(arr: np.ndarray) -> str:
    if arr.ndim == 0:
        return _number(arr.item())
    shape = "x".join(map(str, arr.shape))
    if arr.size == 0:
        return f"array({shape}, empty)"
    if arr.dtype == bool:
        return f"array({shape}, true={int(arr.sum())})" if arr.size > _FEW else _few(arr)
    if not np.issubdtype(arr.dtype, np.number):
        return f"array({shape}, dtype={arr.dtype})"
    if arr.size <= _FEW:
        return _few(arr)
    if np.iscomplexobj(arr):
        return f"array({shape}, complex, max|.|={_number(float(np.max(np.abs(arr))))})"
    finite = arr[np.isfinite(arr)] if arr.dtype.kind == "f" else arr
    if finite.size == 0:
        return f"array({shape}, no finite entry)"
    lo, hi = finite.min(), finite.max()
    extra = "" if finite.size == arr.size else f", non-finite={arr.size - finite.size}"
    return f"array({shape}, min={_number(lo)}, max={_number(hi)}{extra})"


def _few(arr: np.ndarray) -> str:
    def nest(a: np.ndarray) -> str:
        if a.ndim == 0:
            return _number(a.item())
        return "[" + ", ".join(nest(b) for b in a) + "]"

    return nest(arr)


def summarise(value: Any, *, _depth: int = 0) -> str:
    """A short text for ``value``.

    Floats to 6 significant digits; an array (or a list of numbers) with at
    most four entries as its values, a larger one as
    ``array(3x3, min=.., max=..)``; a mapping as ``{key: summary, ...}`` (the
    first few entries); a string quoted and shortened (a :class:`Verbatim`
    string as it is); anything else by its shortened ``repr``.
    """
    if value is None:
        return "None"
    if isinstance(value, Verbatim):
        return str(value)
    if isinstance(value, str):
        return _shorten(repr(value), _TEXT)
    if isinstance(value, (numbers.Number, np.bool_)):
        return _number(value)
    if isinstance(value, np.ndarray):
        return _array(value)
    if _is_numeric_sequence(value):
        return _array(np.asarray(value))
    if isinstance(value, Mapping):
        if _depth >= 2:
            return "{...}" if value else "{}"
        items = list(value.items())
        parts = [f"{k}: {summarise(v, _depth=_depth + 1)}" for k, v in items[:_ENTRIES]]
        if len(items) > _ENTRIES:
            parts.append(f"... (+{len(items) - _ENTRIES})")
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, (list, tuple)):
        if _depth >= 2:
            return "[...]" if value else "[]"
        parts = [summarise(v, _depth=_depth + 1) for v in value[:_ENTRIES]]
        if len(value) > _ENTRIES:
            parts.append(f"... (+{len(value) - _ENTRIES})")
        open_, close = ("[", "]") if isinstance(value, list) else ("(", ")")
        return open_ + ", ".join(parts) + close
    if hasattr(value, "__array__") and hasattr(value, "shape"):  # other array-likes
        try:
            return _array(np.asarray(value))
        except (TypeError, ValueError):
            pass
    return _shorten(repr(value), _TEXT)


def short_repr(name: str, fields: Mapping[str, Any], limit: int = REPR_LIMIT) -> str:
    """``Name(field=summary, ...)`` in fewer than ``limit`` characters.

    Fields are summarised with :func:`summarise` and kept in order; those that
    no longer fit are replaced by ``...``.  ``limit`` must be at least 16.
    """
    limit = max(int(limit), 16)
    budget = limit - 1  # strictly fewer than `limit`
    head = _shorten(str(name), budget // 2) + "("
    parts: list[str] = []
    used = len(head) + 1  # the closing parenthesis
    keys = list(fields)
    for i, key in enumerate(keys):
        part = f"{key}={summarise(fields[key])}"
        sep = 2 if parts else 0
        reserve = 5 if i < len(keys) - 1 else 0  # room for a trailing ", ..."
        if used + sep + len(part) + reserve <= budget:
            parts.append(part)
            used += sep + len(part)
            continue
        if not parts:  # not even the first field fits: cut it
            parts.append(_shorten(part, budget - used - 5))
        parts.append("...")
        break
    out = head + ", ".join(parts) + ")"
    return out if len(out) < limit else out[: limit - 5] + "...)"


# ------------------------------------------------------------------- HTML


def _badge(label: str) -> str:
    colour = _COLOURS.get(label, _COLOURS["unknown"])
    return (f'<span style="background: {colour}; color: #ffffff; border-radius: 8px; padding: 0 7px; '
            f'margin-left: 8px; font-size: 11px; font-weight: 600">{html.escape(label)}</span>')


def _cell_text(value: Any) -> str:
    """The escaped text of a table cell: strings as they are, everything else summarised."""
    text = str(value) if isinstance(value, str) else summarise(value)
    return html.escape(text)


def _table(title: str, status: str | None, header: Sequence[str] | None, rows: Sequence[Sequence[Any]],
           badge_column: int | None = None) -> str:
    ncol = max([2, len(header or ())] + [len(r) for r in rows])
    badge = _badge(status) if status is not None else ""
    out = [f'<div style="{_FONT}">',
           '<table style="border-collapse: collapse; margin: 2px 0; min-width: 18em">',
           f'<thead><tr><th colspan="{ncol}" style="text-align: left; padding: 3px 8px; font-size: 13px">'
           f'{html.escape(str(title))}{badge}</th></tr>']
    if header:
        titles = "".join(f'<th style="{_CELL}; color: #57606a">{html.escape(str(h))}</th>' for h in header)
        out.append(f"<tr>{titles}</tr>")
    out.append("</thead><tbody>")
    for row in rows:
        cells = []
        for j, value in enumerate(row):
            if j == badge_column:
                cells.append(f'<td style="{_CELL}">{_badge(str(value))}</td>')
            elif j == 0:
                cells.append(f'<td style="{_CELL}; font-weight: 600; white-space: nowrap">{_cell_text(value)}</td>')
            else:
                cells.append(f'<td style="{_CELL}; font-family: monospace">{_cell_text(value)}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def html_table(title: str, rows: list[tuple[str, Any]], *, status_ok: bool | None) -> str:
    """A compact HTML table: a header with ``title`` and an ok / not-ok badge, one row per field.

    ``rows`` are ``(field, value)`` pairs; strings are shown as they are, other
    values through :func:`summarise`.  Every text is escaped with
    :func:`html.escape`; styles are inline (no external CSS or JS).
    ``status_ok=None`` shows no badge.
    """
    status = None if status_ok is None else ("ok" if status_ok else "not ok")
    return _table(title, status, None, [(name, value) for name, value in rows])


# ---------------------------------------------------------- AttackResult


def _mi_text(mi: Any, bits: Any) -> Verbatim:
    return Verbatim(f"{_number(mi)} nats ({_number(bits)} bits)")


def _attack_fields(result: Any) -> list[tuple[str, Any]]:
    mi = getattr(result, "mi", math.nan)
    bits = getattr(result, "mi_bits", mi / math.log(2) if isinstance(mi, numbers.Real) else math.nan)
    fields: list[tuple[str, Any]] = [
        ("family", getattr(result, "family", "")),
        ("mi", _mi_text(mi, bits)),
        ("status", getattr(result, "status", None)),
        ("solver", getattr(result, "solver", None)),
        ("ok", getattr(result, "ok", None)),
    ]
    message = getattr(result, "message", "")
    if message:
        fields.append(("message", message))
    kl = getattr(result, "kl", None)
    if kl is not None:  # a problem with stealth terms: what was minimised, and how visible the attack is
        fields += [("objective", getattr(result, "objective", None)), ("kl", kl)]
    gap = getattr(result, "gap", None)
    if gap is not None:  # a certified route's bound on the distance from the optimum
        fields.append(("gap", gap))
    oracle = getattr(result, "oracle", None)
    if oracle is not None:
        fields += [("oracle", oracle), ("oracle_error", getattr(result, "oracle_error", None))]
    for name in ("tolerance", "dual_budget", "budget_used", "residual", "solve_time"):
        fields.append((name, getattr(result, name, None)))
    return fields


def _shapes(attack: Any) -> Verbatim:
    """``{key: shape, ...}`` of an attack dict (the values themselves are in the HTML table)."""
    if not isinstance(attack, Mapping):
        return Verbatim(summarise(attack))
    parts = []
    for key, value in list(attack.items())[:_ENTRIES]:
        shape = np.shape(value) if isinstance(value, (np.ndarray, list, tuple)) else None
        parts.append(f"{key}: {'x'.join(map(str, shape)) if shape else summarise(value)}")
    if len(attack) > _ENTRIES:
        parts.append(f"... (+{len(attack) - _ENTRIES})")
    return Verbatim("{" + ", ".join(parts) + "}")


def attack_result_repr(result: Any) -> str:
    """``AttackResult(family=..., mi=... nats (... bits), status=..., ...)`` in fewer than 300 characters.

    The attack's arrays appear by shape (``attack={gain: 10x10, ...}``) when there is room.
    """
    fields = dict(_attack_fields(result))
    fields["attack"] = _shapes(getattr(result, "attack", {}))
    return short_repr("AttackResult", fields)


def attack_result_html(result: Any) -> str:
    """An HTML table of an :class:`~mi_cvx.core.AttackResult`: the values, the checks, the attack's arrays."""
    rows = [(k, Verbatim(f"{_number(v)} s") if k == "solve_time" and v is not None else v)
            for k, v in _attack_fields(result)]
    note = getattr(result, "note", "")
    if note:
        rows.append(("note", note))
    attack = getattr(result, "attack", None) or {}
    items = list(attack.items()) if isinstance(attack, Mapping) else [("attack", attack)]
    for key, value in items[:20]:
        rows.append((f"attack[{key!r}]", value))
    if len(items) > 20:
        rows.append(("attack", Verbatim(f"... {len(items) - 20} more entries")))
    family = getattr(result, "family", "") or "result"
    ok = getattr(result, "ok", None)
    return html_table(f"AttackResult: {family}", rows, status_ok=None if ok is None else bool(ok))


# ------------------------------------------------------- ConvexityReport


def _check_status(check: Any) -> str:
    status = getattr(check, "status", None)
    if isinstance(status, str):
        return status
    passed = getattr(check, "passed", None)
    return "skipped" if passed is None else ("passed" if passed else "failed")


def _report_passed(report: Any) -> bool | None:
    try:
        return bool(report.passed)
    except Exception:  # a report under construction or from another version: no verdict
        return None


def convexity_report_repr(report: Any) -> str:
    """``ConvexityReport(passed=..., problem=..., checks={name: status, ...})`` in fewer than 300 characters."""
    checks = list(getattr(report, "checks", []) or [])
    statuses = {getattr(c, "name", "?"): Verbatim(_check_status(c)) for c in checks}
    failed = [getattr(c, "name", "?") for c in checks
              if not getattr(c, "informational", False) and getattr(c, "passed", None) is False]
    fields: dict[str, Any] = {
        "passed": _report_passed(report),
        "family": getattr(report, "family", ""),
        "problem": getattr(report, "problem", ""),
    }
    if failed:
        fields["failed"] = Verbatim("[" + ", ".join(failed) + "]")
    fields["checks"] = statuses
    fields["trials"] = getattr(report, "trials", None)
    fields["seed"] = getattr(report, "seed", None)
    return short_repr("ConvexityReport", fields)


def convexity_report_html(report: Any) -> str:
    """An HTML table of a :class:`~mi_cvx.convexity.ConvexityReport`: one row per check (name, status, detail)."""
    checks = list(getattr(report, "checks", []) or [])
    rows = []
    for c in checks:
        figure, tol = getattr(c, "figure", None), getattr(c, "tolerance", None)
        value = "" if figure is None else _number(figure) + ("" if tol is None else f" (tol {_number(tol)})")
        rows.append((getattr(c, "name", "?"), _check_status(c), value,
                     _shorten(str(getattr(c, "detail", "") or ""), _DETAIL)))
    passed = _report_passed(report)
    title = (f"ConvexityReport: {getattr(report, 'problem', '') or getattr(report, 'family', '')} "
             f"({getattr(report, 'trials', '?')} trials, seed {getattr(report, 'seed', '?')})")
    status = None if passed is None else ("passed" if passed else "failed")
    return _table(title, status, ("check", "status", "figure", "detail"), rows, badge_column=1)
