"""JSON-safe conversion, the one sanitiser every ``to_dict`` and the CLI's ``--json`` use."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import numpy as np


def json_safe(value: Any) -> Any:
    """``value`` with numpy arrays and scalars as Python lists and numbers, ready for :func:`json.dump`.

    Mappings become dicts with string keys; tuples, lists and sets become lists
    (sets sorted); NaN and infinities become ``None`` (JSON has no NaN); paths
    become strings; pandas' missing values become ``None``; anything else that
    JSON cannot hold becomes its ``str``.
    """
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return [json_safe(v) for v in items]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, PurePath):
        return str(value)
    try:  # pandas NA / NaT and friends
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
