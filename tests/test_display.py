"""Compact display: short reprs and small HTML tables (mi_cvx.display)."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser

import numpy as np
import pytest

import mi_cvx
from mi_cvx.display import (
    Verbatim,
    attack_result_html,
    attack_result_repr,
    convexity_report_html,
    convexity_report_repr,
    html_table,
    short_repr,
    summarise,
)

_VOID = {"br", "hr", "img", "meta", "input", "col", "wbr"}


class _StrictParser(HTMLParser):
    """Parses and checks that every element is closed in order; collects the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(markup: str) -> _StrictParser:
    parser = _StrictParser()
    parser.feed(markup)
    parser.close()
    assert not parser.stack, f"unclosed elements {parser.stack}"
    assert "script" not in parser.tags and "style" not in parser.tags and "link" not in parser.tags
    return parser


@pytest.fixture(scope="module")
def vector_result():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(10, 10))
    return mi_cvx.gaussian_vector(A, 2.0, 1.0, 0.1).solve()


# ------------------------------------------------------------------ building blocks


def test_summarise_values():
    assert summarise(1 / 3) == "0.333333"
    assert summarise(12345678.9) == "1.23457e+07"
    assert summarise(7) == "7" and summarise(None) == "None" and summarise(True) == "True"
    assert summarise(np.array([1.5, 2.0, 3.0])) == "[1.5, 2, 3]"  # size <= 4: the values
    assert summarise(np.array([[1.0, 2.0], [3.0, 4.0]])) == "[[1, 2], [3, 4]]"
    assert summarise(np.arange(9.0).reshape(3, 3)) == "array(3x3, min=0, max=8)"
    assert summarise(np.array([np.nan, 1.0, 2.0, 3.0, 4.0])) == "array(5, min=1, max=4, non-finite=1)"
    assert summarise({"a": np.ones((10, 10)), "b": 0.5}) == "{a: array(10x10, min=1, max=1), b: 0.5}"
    assert summarise("text") == "'text'" and summarise(Verbatim("1 nats")) == "1 nats"
    assert len(summarise("x" * 10_000)) <= 80


@pytest.mark.parametrize("limit", [16, 60, 300])
def test_short_repr_stays_under_its_limit(limit):
    fields = {f"field{i}": np.random.default_rng(i).normal(size=(i + 5, 7)) for i in range(50)}
    text = short_repr("Thing", fields, limit=limit)
    assert len(text) < limit and text.startswith("Thing") and text.endswith(")")
    assert short_repr("Thing", {"a": 1, "b": 2.5}) == "Thing(a=1, b=2.5)"
    huge = short_repr("Thing", {"message": Verbatim("y" * 5000)}, limit=limit)
    assert len(huge) < limit


def test_html_table_escapes_and_parses():
    markup = html_table("A <title> & more", [("message", "<script>alert('x')</script>"), ("matrix", np.eye(6)),
                                             ("<key>", 1.0)], status_ok=False)
    assert "<script>" not in markup and "&lt;script&gt;" in markup and "&lt;key&gt;" in markup
    parser = parse(markup)
    text = "".join(parser.text)
    assert "A <title> & more" in text and "not ok" in text and "array(6x6, min=0, max=1)" in text
    assert "ok" in "".join(parse(html_table("t", [], status_ok=True)).text)
    assert "ok" not in "".join(parse(html_table("t", [("a", 1)], status_ok=None)).text)


# ------------------------------------------------------------------ AttackResult


def test_attack_result_repr_is_short(vector_result):
    text = attack_result_repr(vector_result)
    assert len(text) < 300
    assert text.startswith("AttackResult(family='gaussian_vector'")
    assert f"{vector_result.mi:.6g} nats" in text and "bits" in text and "status='optimal'" in text


def test_attack_result_html_shows_value_and_status(vector_result):
    markup = attack_result_html(vector_result)
    text = "".join(parse(markup).text)
    assert f"{vector_result.mi:.6g}" in text and vector_result.status in text
    assert "gaussian_vector" in text and ("not ok" if not vector_result.ok else "ok") in text
    for key in vector_result.attack:  # every attack entry, summarised
        assert f"attack['{key}']" in text
    assert "array(10x10" in text and len(markup) < 20_000


def test_attack_result_html_escapes_the_message(vector_result):
    evil = dataclasses.replace(vector_result, message="<script>alert('owned')</script> & co", ok=False)
    markup = attack_result_html(evil)
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    text = "".join(parse(markup).text)
    assert "<script>alert('owned')</script> & co" in text and "not ok" in text
    assert len(attack_result_repr(evil)) < 300
    assert "<script>" in attack_result_repr(evil)  # a repr is plain text, not markup


# ------------------------------------------------------------------ subset and optimality


def test_subset_result_repr_and_html():
    rng = np.random.default_rng(1)
    m, n = 80, 6
    A = rng.normal(size=(m, n))
    result = mi_cvx.subset_attack(np.eye(n), np.diag(rng.uniform(0.1, 2.0, m)), 40, A=A)
    text = repr(result)
    assert len(text) < 300 and "nats" in text and "bits" in text and result.method in text
    assert ", ".join(map(str, result.subset[:12])) in text and "(+28)" in text
    markup = result._repr_html_()
    body = "".join(parse(markup).text)
    assert f"{result.mi:.6g} nats" in body and "SubsetAttackResult" in body


def test_optimality_residuals_repr_and_html():
    rng = np.random.default_rng(2)
    p = rng.dirichlet(np.ones(36)).reshape(6, 6)
    result = mi_cvx.discrete_channel(p, 0.2).solve()
    residuals = result.optimality()
    text = repr(residuals)
    assert len(text) < 300 and text.startswith("OptimalityResiduals(holds=")
    assert "array(6x6" in text  # the per-cell residuals, summarised
    markup = residuals._repr_html_()
    body = "".join(parse(markup).text)
    assert "max_residual" in body and "array(6x6x6" in body and f"{residuals.dual:.6g}" in body


# ------------------------------------------------------------------ ConvexityReport


def test_convexity_report_repr_and_html():
    from mi_cvx.convexity import Check, ConvexityReport

    checks = [Check("dcp", True, detail="CVXPY certifies the model"),
              Check("jensen", False, figure=0.25, tolerance=1e-9, detail="violated <b>badly</b> " + "x" * 500),
              Check("value_function", None, detail="skipped: no budget"),
              Check("deterministic_witness", True, informational=True, detail="I is not convex in s")]
    report = ConvexityReport(problem="a <toy> problem", family="gaussian_scalar", checks=checks, trials=5, seed=3)
    text = convexity_report_repr(report)
    assert len(text) < 300 and text.startswith("ConvexityReport(passed=False")
    assert "jensen: failed" in text
    markup = convexity_report_html(report)
    assert "<b>" not in markup and "&lt;toy&gt;" in markup
    body = "".join(parse(markup).text)
    for name in ("dcp", "jensen", "value_function", "deterministic_witness"):
        assert name in body
    assert "failed" in body and "skipped" in body and "0.25 (tol 1e-09)" in body
    assert "x" * 200 not in body  # details are shortened
