"""`compbench data preview|audit` and `compbench perf data`."""

from __future__ import annotations

from click.testing import CliRunner

from bench.cli import main


def test_preview_writes_png(tmp_path):
    out = tmp_path / "grid.png"
    args = ["data", "preview", "--task", "length", "--k", "5", "--n", "2", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p != out]  # no temp file left


def test_preview_bad_input():
    runner = CliRunner()
    for args, text in ((["--task", "nope"], "unknown task 'nope'"),
                       (["--k", "11"], "k=11 is out of range"),
                       (["--resolution", "20"], "supported: 16, 32, 64, 128")):
        result = runner.invoke(main, ["data", "preview", *args])
        assert result.exit_code == 2 and text in result.output, result.output
        assert "Traceback" not in result.output


def test_audit_prints_figures():
    result = CliRunner().invoke(main, ["data", "audit", "--task", "length", "--resolution", "16",
                                       "--n", "2"])
    assert result.exit_code == 0, result.output
    assert "ground truth judged exact: k=0: 100.0%" in result.output
    for word in ("erase:", "extra:", "move:", "fade:", "touch:", "rotate:", "noise:", "blur:"):
        assert word in result.output


def test_perf_data():
    result = CliRunner().invoke(main, ["perf", "data", "--k", "2", "--n", "20"])
    assert result.exit_code == 0, result.output
    assert "scenes/s" in result.output
