"""The compare tool runs without tqdm and tabulate (plain progress and tables)."""
import sys

from accel.compare import cli, display


def test_plain_table_without_tabulate(monkeypatch):
    monkeypatch.setitem(sys.modules, "tabulate", None)  # makes `import tabulate` fail
    text = display.table([["N=10", "1.0 us"], ["N=1000", "12.5 ms *"]], ["input", "numpy"], False)
    assert text.splitlines() == ["input   numpy", "------  ---------",
                                 "N=10    1.0 us", "N=1000  12.5 ms *"]
    markdown = display.table([["N=10", "1.0 us"]], ["input", "numpy"], True)
    assert markdown.splitlines() == ["| input | numpy  |", "|-------|--------|",
                                     "| N=10  | 1.0 us |"]


def test_compare_runs_without_tqdm_and_tabulate(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tabulate", None)
    assert cli.main(["--kernels", "nms", "--backends", "numpy", "--sizes", "20",
                     "--budget", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "nms" in out and "N=20" in out
