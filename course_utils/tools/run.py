"""Execute notebooks headless with papermill (``make run``, ``make bench``).

For each notebook: run it into ``<out>/<name>`` with the given parameters (``FAST`` and
any ``-p NAME VALUE``), watch the kernel's peak memory, collect the headline results the
notebook records with ``cu.record_headline``, export HTML and the figures as PNG
(``<out>/figures/<NN>/``), and finish with a table and ``<out>/index.html``.

    python -m course_utils.tools.run --out build [--fast] [--nb 04,06] [-p EPOCHS 3] [--bench FILE]
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import html
import json
import os
import platform
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO_ROOT / "notebooks"


@dataclass
class Result:
    notebook: str
    status: str = "not run"
    seconds: float = 0.0
    peak_mb: float = 0.0
    headlines: list = field(default_factory=list)
    error: str = ""

    def headline_text(self) -> str:
        if not self.headlines:
            return "—"
        parts = []
        for h in self.headlines:
            s = f"{h['name']} = {h['value']:.4g}{h.get('unit', '')}"
            if h.get("target") is not None:
                s += " ✓" if h.get("reached") else f" ✗ (target {h['target']:g})"
            parts.append(s)
        return "; ".join(parts)


def parse_value(text: str):
    """Parse a ``-p`` value the way papermill does: int, float, bool, None, else str."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def select(nb_arg: str | None, folder: Path = NOTEBOOKS) -> list[Path]:
    """Notebooks to run: all, or those matching ``nb_arg`` (see ``nbtools.select_notebooks``)."""
    from .nbtools import select_notebooks
    try:
        return select_notebooks(folder, nb_arg)
    except ValueError as exc:
        raise SystemExit(f"NB: {exc}") from None


class PeakMemory:
    """Poll the resident memory of this process's children (the kernel) in a thread."""

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psutil
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def export(executed: Path, out: Path) -> None:
    """Write ``<name>.html`` next to the executed notebook and its figures to figures/NN/."""
    import nbformat
    from nbconvert import HTMLExporter
    nb = nbformat.read(executed, as_version=4)
    body, _ = HTMLExporter().from_notebook_node(nb)
    executed.with_suffix(".html").write_text(body, encoding="utf-8")
    figdir = out / "figures" / executed.stem[:2]
    figdir.mkdir(parents=True, exist_ok=True)
    for old in figdir.glob("*.png"):
        old.unlink()
    for ci, cell in enumerate(nb.cells):
        for oi, output in enumerate(cell.get("outputs", [])):
            png = output.get("data", {}).get("image/png")
            if png:
                (figdir / f"cell{ci:03d}_{oi}.png").write_bytes(base64.b64decode(png))


def run_one(path: Path, out: Path, fast: bool, params: dict, timeout: int, progress: bool) -> Result:
    import papermill as pm
    res = Result(path.name)
    out.mkdir(parents=True, exist_ok=True)
    target = out / path.name
    fd, results_file = tempfile.mkstemp(suffix=".jsonl")
    os.close(fd)
    env_before = {k: os.environ.get(k) for k in ("COURSE_RESULTS", "COURSE_FAST", "MPLBACKEND")}
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures go into the notebook
    os.environ["COURSE_RESULTS"] = results_file
    os.environ["COURSE_FAST"] = "1" if fast else "0"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ info lines out of the log
    t0 = time.perf_counter()
    try:
        with PeakMemory() as mem:
            pm.execute_notebook(str(path), str(target), parameters={"FAST": fast, **params},
                                kernel_name="python3", cwd=str(path.parent), progress_bar=progress,
                                execution_timeout=timeout, log_output=False)
        res.status = "ok"
    except Exception as exc:  # papermill raises PapermillExecutionError with the cell's error
        res.status = "FAILED"
        res.error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
    finally:
        res.seconds = time.perf_counter() - t0
        res.peak_mb = mem.peak / 2**20 if "mem" in locals() else 0.0
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        with open(results_file, encoding="utf-8") as fh:
            res.headlines = [json.loads(line) for line in fh if line.strip()]
        os.unlink(results_file)
    if target.exists():
        try:
            export(target, out)
        except Exception as exc:  # HTML export problems must not hide the run's own result
            res.error += f" (HTML export failed: {exc})"
    return res


def table(results: list[Result]) -> str:
    rows = [("notebook", "status", "seconds", "peak MB", "headline")]
    rows += [(r.notebook, r.status, f"{r.seconds:.1f}", f"{r.peak_mb:.0f}", r.headline_text())
             for r in results]
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    lines = []
    for k, r in enumerate(rows):
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) + "  " + r[4])
        if k == 0:
            lines.append("-" * (sum(widths) + 2 * 4 + 8))
    return "\n".join(lines)


def write_index(out: Path, results: list[Result], fast: bool) -> Path:
    rows = "".join(
        f"<tr><td><a href='{html.escape(r.notebook[:-6])}.html'>{html.escape(r.notebook)}</a></td>"
        f"<td class='{'ok' if r.status == 'ok' else 'bad'}'>{r.status}</td><td>{r.seconds:.1f}</td>"
        f"<td>{r.peak_mb:.0f}</td><td>{html.escape(r.headline_text())}</td>"
        f"<td>{html.escape(r.error)}</td></tr>" for r in results)
    page = f"""<!doctype html><meta charset="utf-8"><title>Hands-On Deep Learning: run</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:4px 10px;border-bottom:1px solid #ddd}}
.ok{{color:green}}.bad{{color:#b00;font-weight:bold}}</style>
<h1>Hands-On Deep Learning: executed notebooks</h1>
<p>{'FAST' if fast else 'FULL'} mode, {dt.datetime.now():%Y-%m-%d %H:%M}, {platform.node()}.</p>
<table><tr><th>notebook</th><th>status</th><th>seconds</th><th>peak MB</th><th>headline</th><th>error</th></tr>
{rows}</table>"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import psutil
    return f"{os.cpu_count()} cores ({cpu}), {psutil.virtual_memory().total / 2**30:.0f} GiB RAM"


def update_bench(path: Path, results: list[Result], fast: bool, params: dict) -> None:
    """Write/merge the benchmark table: one section per mode, one row per notebook."""
    mode = "fast" if fast else "full"
    data = {}
    json_path = path.with_suffix(".json")
    if json_path.exists():
        data = json.loads(json_path.read_text())
    sect = data.setdefault(mode, {})
    for r in results:
        sect[r.notebook] = {"status": r.status, "seconds": round(r.seconds, 1),
                            "peak_mb": round(r.peak_mb), "headline": r.headline_text(),
                            "params": params, "date": dt.date.today().isoformat(), "machine": machine()}
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    lines = ["# Benchmarks", "",
             "Written by `make bench` (full mode) and `make bench FAST=1` (fast mode); rerun to update.",
             "Times are wall-clock seconds of the whole notebook (kernel start included); peak MB is the",
             "kernel's peak resident memory, polled every 0.2 s. Headline: what the notebook records with",
             "`cu.record_headline` (✓ target reached, ✗ missed).", ""]
    for m in ("full", "fast"):
        if m not in data:
            continue
        lines += [f"## {m} mode", "", "| notebook | status | seconds | peak MB | headline | date | machine |",
                  "|---|---|---|---|---|---|---|"]
        for nb in sorted(data[m]):
            r = data[m][nb]
            headline = r["headline"].replace("|", "\\|")  # a | in a metric name would split the cell
            lines.append(f"| {nb} | {r['status']} | {r['seconds']} | {r['peak_mb']} | {headline} | "
                         f"{r['date']} | {r['machine']} |")
        lines.append("")
    path.write_text("\n".join(lines))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m course_utils.tools.run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="build", help="folder for executed notebooks (default build/)")
    ap.add_argument("--nb", help="run only these notebooks: 04 or 04,06 or a name prefix")
    ap.add_argument("--fast", action="store_true", help="fast mode (FAST=True, COURSE_FAST=1)")
    ap.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="papermill parameter, e.g. -p EPOCHS 3 (repeatable)")
    ap.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds")
    ap.add_argument("--bench", metavar="FILE", help="also write/merge the benchmark table FILE (.md)")
    ap.add_argument("--notebooks", default=str(NOTEBOOKS), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    params = {}
    for name, value in args.parameter:
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            ap.error(f"parameter name must be a Python identifier, got {name!r}")
        params[name] = parse_value(value)
    if "FAST" in params:
        args.fast = bool(params.pop("FAST"))
    out = Path(args.out)
    nbs = select(args.nb, Path(args.notebooks))
    if not nbs:
        print("no notebooks to run")
        return 1
    print(f"Running {len(nbs)} notebook(s) in {'FAST' if args.fast else 'FULL'} mode into {out}/"
          + (f" with {params}" if params else ""))
    results = []
    for i, path in enumerate(nbs, 1):
        print(f"[{i}/{len(nbs)}] {path.name}", flush=True)
        r = run_one(path, out, args.fast, params, args.timeout, progress=True)
        print(f"      {r.status} in {r.seconds:.1f} s, peak {r.peak_mb:.0f} MB"
              + (f"  {r.error}" if r.error else ""), flush=True)
        results.append(r)
    index = write_index(out, results, args.fast)
    print()
    print(table(results))
    print(f"\nExecuted notebooks, HTML and figures in {out}/ (open {index})")
    if args.bench:
        update_bench(Path(args.bench), results, args.fast, params)
        print(f"Benchmark table updated: {args.bench}")
    return 0 if all(r.status == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
