"""The tour notebook runs from top to bottom in a fresh kernel and shows what it promises."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

TOUR = Path(__file__).resolve().parent.parent / "examples" / "tour.ipynb"


def test_tour_notebook_executes(tmp_path):
    notebook = nbformat.read(TOUR, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out.get("output_type") == "error"]
    html = [out["data"]["text/html"] for out in outputs if "text/html" in out.get("data", {})]
    assert any("AttackResult" in text for text in html)  # the result shows as a table
    text = "".join(str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", "")) for out in outputs)
    assert "detection=" in text and "optimal attack" in text and "random noise" in text
    # the retrained regression's error under the optimal attack is what the model predicts (within 2%)
    table = next(out["data"]["text/plain"] for out in outputs
                 if "optimal attack" in str(out.get("data", {}).get("text/plain", "")))
    measured = float(table.split("'optimal attack': {'measured': ")[1].split(",")[0])
    predicted = float(table.split("'optimal attack': {'measured': ")[1].split("'predicted': ")[1].split("}")[0])
    assert abs(measured - predicted) <= 0.02 * predicted
