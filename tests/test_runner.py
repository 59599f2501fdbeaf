"""The papermill runner behind `make run` and `make bench`."""
import json

import nbformat
import pytest

from course_utils.tools import run


def _nb(path, body, params="FAST = cu.fast_mode()\nEPOCHS = None\n"):
    cells = [nbformat.v4.new_code_cell("import course_utils as cu"),
             nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
             nbformat.v4.new_code_cell(body)]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                          "language": "python"}})
    nbformat.write(nb, path)


@pytest.fixture
def folder(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _nb(nbs / "01_ok.ipynb", "import matplotlib.pyplot as plt\nplt.plot([1, 2]); plt.show()\n"
        "cu.record_headline('accuracy', 0.5 if FAST else 0.9, target=0.8)\nprint('EPOCHS', EPOCHS)")
    _nb(nbs / "02_broken.ipynb", "raise RuntimeError('boom')")
    return nbs


def test_select(folder):
    assert [p.name for p in run.select(None, folder)] == ["01_ok.ipynb", "02_broken.ipynb"]
    assert [p.name for p in run.select("2", folder)] == ["02_broken.ipynb"]
    assert [p.name for p in run.select("02,01", folder)] == ["02_broken.ipynb", "01_ok.ipynb"]
    with pytest.raises(SystemExit, match="matches no notebook"):
        run.select("07", folder)


@pytest.mark.parametrize("text,value", [("3", 3), ("0.5", 0.5), ("True", True), ("none", None), ("adam", "adam")])
def test_parse_value(text, value):
    assert run.parse_value(text) == value


@pytest.mark.slow
def test_run_executes_records_and_reports(folder, tmp_path, capsys):
    out = tmp_path / "build"
    bench = tmp_path / "BENCH.md"
    code = run.main(["--out", str(out), "--notebooks", str(folder), "--fast", "-p", "EPOCHS", "7",
                     "--bench", str(bench)])
    assert code == 1  # one notebook failed
    text = capsys.readouterr().out
    assert "01_ok.ipynb" in text and "FAILED" in text and "RuntimeError" in text
    assert "accuracy = 0.5 ✗ (target 0.8)" in text
    executed = nbformat.read(out / "01_ok.ipynb", as_version=4)
    assert "EPOCHS 7" in json.dumps(executed.cells[-1].outputs)
    assert (out / "01_ok.html").exists() and (out / "index.html").exists()
    assert list((out / "figures" / "01").glob("*.png"))
    table = bench.read_text()
    assert "## fast mode" in table and "| 01_ok.ipynb | ok |" in table and "| 02_broken.ipynb | FAILED |" in table
    # a full-mode run of one notebook adds its section and keeps the fast one
    assert run.main(["--out", str(out), "--notebooks", str(folder), "--nb", "01", "--bench", str(bench)]) == 0
    table = bench.read_text()
    assert "## full mode" in table and "## fast mode" in table and "accuracy = 0.9 ✓" in table


def test_bench_table_escapes_pipes_and_merges_rows(tmp_path):
    bench = tmp_path / "B.md"
    r = run.Result("05_x.ipynb", status="ok", seconds=1.0, peak_mb=10,
                   headlines=[{"name": "max |a - b|", "value": 1e-7, "target": 1e-6, "reached": True, "unit": ""}])
    run.update_bench(bench, [r], fast=False, params={})
    run.update_bench(bench, [run.Result("06_y.ipynb", status="FAILED")], fast=False, params={})
    rows = [line for line in bench.read_text().splitlines() if line.startswith("| 0")]
    assert len(rows) == 2 and rows[0].count(" | ") == 8  # 9 cells: the metric's | are escaped
    assert "max \\|a - b\\| = 1e-07 ✓" in rows[0]
    assert "| 1.0 | — | — | 10 |" in rows[0]   # no CPU time or load measured for this row


def test_peak_memory_records_cpu_time_and_load():
    import subprocess
    import sys
    with run.PeakMemory(interval=0.05) as mem:
        subprocess.run([sys.executable, "-c", "import time\nt = time.process_time()\n"
                        "while time.process_time() - t < 0.6: pass\ntime.sleep(0.2)"], check=True)
    assert 0.4 <= mem.cpu_seconds <= 5.0, mem.cpu_seconds
    assert mem.load is not None and mem.load >= 0


def test_bench_gpu_table_beside_the_cpu_one(tmp_path):
    bench = tmp_path / "B.md"
    run.update_bench(bench, [run.Result("01_x.ipynb", status="ok", seconds=2.0, peak_mb=10)], fast=False, params={})
    text = bench.read_text()
    assert "## full mode\n" in text and "## full mode on a GPU" in text and "Not measured" in text
    r = run.Result("01_x.ipynb", status="ok", seconds=0.5, peak_mb=12, gpu_peak_mb=812.0)
    run.update_bench(bench, [r], fast=False, params={}, gpu="NVIDIA H200")
    text = bench.read_text()
    assert "Not measured" not in text and "## full mode\n" in text          # the CPU table stays
    gpu_rows = [ln for ln in text.split("## full mode on a GPU")[1].splitlines() if ln.startswith("| 01")]
    assert gpu_rows and "| 812 |" in gpu_rows[0] and "NVIDIA H200" in gpu_rows[0]
    assert "Whole course: 2 s (1 notebook)." in text and "Whole course: 0 s (1 notebook)." in text


def test_gpu_memory_poll_without_nvidia_smi(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert run._gpu_memory_by_pid() is None


def test_kernels_talk_over_ipc_without_the_tcp_warning(tmp_path):
    """make run's kernels use Unix sockets: no 'running over TCP without encryption' line, no leftovers."""
    import glob
    import subprocess
    import sys
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print('hi')")]
    nbformat.write(nb, tmp_path / "a.ipynb")
    import os
    import shutil
    import tempfile
    private = tempfile.mkdtemp(prefix="ipct", dir="/tmp")     # short: Unix socket paths are limited to ~100 bytes
    code = ("import papermill as pm\nfrom course_utils.tools.run import kernel_manager_class\n"
            f"pm.execute_notebook({str(tmp_path / 'a.ipynb')!r}, {str(tmp_path / 'b.ipynb')!r}, kernel_name='python3',"
            " progress_bar=False, kernel_manager_class=kernel_manager_class())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "TMPDIR": private})
    assert out.returncode == 0, out.stderr
    assert "without encryption" not in out.stdout + out.stderr
    assert "hi" in json.dumps(nbformat.read(tmp_path / "b.ipynb", as_version=4).cells[0].outputs)
    left = glob.glob(os.path.join(private, "hodl-ipc-*"))
    shutil.rmtree(private, ignore_errors=True)
    assert left == []                      # the socket folder went with the kernel


def test_test_times_table_and_extrapolation(tmp_path):
    times = tmp_path / "t.json"
    times.write_text(json.dumps({"wall_seconds": 100.0, "workers": 2, "exitstatus": 0, "date": "2026-12-02",
                                 "notebooks": {"01_a": {"nbval": 10.0, "student": 8.0},
                                               "02_b": {"nbval": 20.0, "student": 12.0}},
                                 "other": {"test_x": 100.0}}))
    bench = tmp_path / "B.md"
    s = run.update_test_times(bench, times, notebooks_planned=28, limit_minutes=25)
    assert s["fixed_seconds"] == 100.0 and s["mean_per_notebook"] == 25.0 and s["efficiency"] == 0.75
    assert s["estimate_minutes"] == round((100 + 28 * 25) / (2 * 0.75) / 60, 1)
    text = bench.read_text()
    assert "| 02_b | 20.0 | 12.0 | 32.0 |" in text and "Extrapolation to 28 notebooks" in text
    # the mode tables are kept when test times are added, and the other way round
    run.update_bench(bench, [run.Result("01_a.ipynb", status="ok", seconds=3.0)], fast=False, params={})
    assert "## Test suite cost per notebook" in bench.read_text() and "## full mode" in bench.read_text()
    assert run.main(["--test-times", str(times), "--bench", str(bench)]) == 0
