"""Exceptions raised by mi_cvx.

Every error the package raises on purpose derives from :class:`MiCvxError`, so
``except mi_cvx.MiCvxError`` catches them all.  Bad user input raises
:class:`InvalidInputError`, which is also a :class:`ValueError`.
"""

from __future__ import annotations


class MiCvxError(Exception):
    """Root of every exception raised by mi_cvx."""


class InvalidInputError(MiCvxError, ValueError):
    """An argument is malformed; the message names the argument and the problem.

    Parameters
    ----------
    argument : str
        Name of the offending argument, as the user spelled it.
    message : str
        What is wrong with it.
    """

    def __init__(self, argument: str, message: str):
        self.argument = argument
        super().__init__(f"{argument}: {message}")


class UnsupportedSolverError(MiCvxError):
    """The requested solver is not installed or lacks a cone the problem needs.

    Attributes
    ----------
    solver : str
        The solver's name.
    missing : frozenset of str
        Cones the problem needs that the solver does not support (empty if the
        solver is simply not installed or unknown).
    """

    def __init__(self, solver: str, message: str, missing: frozenset[str] = frozenset()):
        self.solver = solver
        self.missing = frozenset(missing)
        super().__init__(message)


class SolverError(MiCvxError):
    """A solve failed, or returned an answer that is not accurate enough to trust.

    Attributes
    ----------
    status : str
        The CVXPY status (or ``"error"`` when the solver raised).
    solver : str
        The solver that was used.
    hint : str
        What the user can try next.
    result : AttackResult or None
        The flagged result, when a point was returned at all.
    """

    def __init__(self, message: str, *, status: str, solver: str, hint: str = "", result=None):
        self.status = status
        self.solver = solver
        self.hint = hint
        self.result = result
        text = f"{message} (solver={solver}, status={status})"
        if hint:
            text += f". Hint: {hint}"
        super().__init__(text)


class ResourceLimitError(MiCvxError):
    """A solve would take longer or need more memory than this machine allows; refused before starting.

    Attributes
    ----------
    seconds : float
        Estimated solve time.
    bytes : float
        Estimated peak memory.
    """

    def __init__(self, message: str, *, seconds: float = float("nan"), bytes: float = float("nan")):  # noqa: A002
        self.seconds = seconds
        self.bytes = bytes
        super().__init__(message)
