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
    gpu_peak_mb: float | None = None   # peak GPU memory of the kernel (nvidia-smi), None without a GPU
    cpu_seconds: float | None = None   # CPU time (user + system) the kernel used
    load: float | None = None          # highest 1-minute load average seen during the run
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


def _gpu_memory_by_pid() -> dict[int, float] | None:
    """``{pid: MiB}`` of the processes using an NVIDIA GPU, from ``nvidia-smi``; None when there is none."""
    import shutil
    import subprocess
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    used: dict[int, float] = {}
    for line in out.splitlines():
        try:
            pid, mib = (x.strip() for x in line.split(","))
            used[int(pid)] = used.get(int(pid), 0.0) + float(mib)
        except ValueError:
            continue
    return used


class PeakMemory:
    """Poll the resident memory of this process's children (the kernel) in a thread.

    Also records their CPU time (``cpu_seconds``: user + system, the last reading of each child)
    and the highest 1-minute load average of the machine (``load``): wall-clock seconds mean
    little on a machine that other work keeps busy, CPU seconds much more. With an NVIDIA GPU
    (``nvidia-smi`` on PATH) it also records the children's peak GPU memory (``gpu_peak``, MiB;
    ``None`` without a GPU), polled once a second.
    """

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self.peak = 0
        self._cpu: dict[int, float] = {}
        self.load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        self.gpu_peak: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psutil
        me = psutil.Process()
        gpu = _gpu_memory_by_pid() is not None
        last_gpu = 0.0
        while not self._stop.is_set():
            total = 0
            children = me.children(recursive=True)
            for child in children:
                try:
                    total += child.memory_info().rss
                    t = child.cpu_times()
                    self._cpu[child.pid] = t.user + t.system
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            if self.load is not None:
                self.load = max(self.load, os.getloadavg()[0])
            if gpu and time.monotonic() - last_gpu >= 1.0:
                last_gpu = time.monotonic()
                used = _gpu_memory_by_pid() or {}
                mine = sum(used.get(c.pid, 0.0) for c in children)
                self.gpu_peak = max(self.gpu_peak or 0.0, mine)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def cpu_seconds(self) -> float:
        return sum(self._cpu.values())


def kernel_manager_class():
    """A kernel manager that talks to the kernel over Unix sockets in a private folder (POSIX), else None.

    Over TCP, ipykernel 7 warns "Kernel is running over TCP without encryption" for every notebook;
    a learner reads that as a security problem. IPC sockets in a folder only this user can read are
    not reachable from the network, so there is nothing to warn about. The folder is removed with the kernel.
    """
    if os.name != "posix":
        return None
    import shutil
    from jupyter_client import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kw):
            self._ipc_dir = tempfile.mkdtemp(prefix="hodl-ipc-")   # short: socket paths are limited to ~100 bytes
            kw.setdefault("transport", "ipc")
            kw.setdefault("ip", os.path.join(self._ipc_dir, "kernel"))
            super().__init__(**kw)

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            await super()._async_cleanup_resources(restart=restart)
            if not restart:
                shutil.rmtree(self._ipc_dir, ignore_errors=True)

    return IPCKernelManager


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
    kmc = kernel_manager_class()
    try:
        with PeakMemory() as mem:
            pm.execute_notebook(str(path), str(target), parameters={"FAST": fast, **params},
                                kernel_name="python3", cwd=str(path.parent), progress_bar=progress,
                                execution_timeout=timeout, log_output=False,
                                **({"kernel_manager_class": kmc} if kmc else {}))
        res.status = "ok"
    except Exception as exc:  # papermill raises PapermillExecutionError with the cell's error
        res.status = "FAILED"
        res.error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
    finally:
        res.seconds = time.perf_counter() - t0
        res.peak_mb = mem.peak / 2**20 if "mem" in locals() else 0.0
        res.gpu_peak_mb = mem.gpu_peak if "mem" in locals() else None
        if "mem" in locals():
            res.cpu_seconds, res.load = mem.cpu_seconds, mem.load
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


def update_bench(path: Path, results: list[Result], fast: bool, params: dict, gpu: str | None = None) -> None:
    """Write/merge the benchmark table: one section per mode and device, one row per notebook.

    ``gpu`` names the GPU the run used (``cu.env.gpu_info``), or None for a CPU run. GPU runs go to
    their own sections beside the CPU ones, with the kernel's peak GPU memory; while no GPU run was
    ever recorded the file says so ("not measured") instead of showing a table.
    """
    mode = ("gpu-" if gpu else "") + ("fast" if fast else "full")
    data = {}
    json_path = path.with_suffix(".json")
    if json_path.exists():
        data = json.loads(json_path.read_text())
    sect = data.setdefault(mode, {})
    for r in results:
        row = {"status": r.status, "seconds": round(r.seconds, 1),
               "peak_mb": round(r.peak_mb), "headline": r.headline_text(),
               "params": params, "date": dt.date.today().isoformat(), "machine": machine(),
               "cpu_seconds": None if r.cpu_seconds is None else round(r.cpu_seconds, 1),
               "load": None if r.load is None else round(r.load, 1)}
        if gpu:
            row["gpu"] = gpu
            row["gpu_peak_mb"] = None if r.gpu_peak_mb is None else round(r.gpu_peak_mb)
        sect[r.notebook] = row
    _write_bench(path, data)


def update_test_times(path: Path, times_file: Path, notebooks_planned: int = 28, limit_minutes: float = 25) -> dict:
    """Add what `make test` cost per notebook (``COURSE_TEST_TIMES``, tests/conftest.py) to the benchmark table.

    Each notebook costs its nbval run (instructor version) plus its student run, in worker-seconds; the
    rest of the suite is a fixed cost. The extrapolation to ``notebooks_planned`` notebooks assumes each
    costs the current mean and the workers stay as busy as in this run; it also gives the largest
    per-notebook cost that keeps the suite within ``limit_minutes``. Returns the summary written.
    """
    t = json.loads(Path(times_file).read_text())
    nbs = t["notebooks"]
    if not nbs:
        raise ValueError(f"{times_file} holds no notebook timings; run `make test` first")
    per = {k: round(sum(v.values()), 1) for k, v in nbs.items()}
    fixed = round(sum(t["other"].values()), 1)
    total = fixed + sum(per.values())
    workers = int(t.get("workers") or 1)
    eff = min(1.0, total / (workers * t["wall_seconds"])) if t["wall_seconds"] else 1.0
    mean = sum(per.values()) / len(per)
    est = (fixed + notebooks_planned * mean) / (workers * eff)
    budget = (limit_minutes * 60 * workers * eff - fixed) / notebooks_planned
    summary = {"date": t["date"], "machine": machine(), "wall_seconds": t["wall_seconds"], "workers": workers,
               "exitstatus": t.get("exitstatus"), "fixed_seconds": fixed, "efficiency": round(eff, 2),
               "per_notebook": {k: {**nbs[k], "total": per[k]} for k in sorted(nbs)},
               "mean_per_notebook": round(mean, 1), "planned": notebooks_planned,
               "estimate_minutes": round(est / 60, 1), "limit_minutes": limit_minutes,
               "budget_per_notebook": round(budget, 1)}
    json_path = path.with_suffix(".json")
    data = json.loads(json_path.read_text()) if json_path.exists() else {}
    data["tests"] = summary
    _write_bench(path, data)
    return summary


def _write_bench(path: Path, data: dict) -> None:
    """benchmarks/BENCHMARKS.json and the Markdown tables made from it."""
    json_path = path.with_suffix(".json")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    lines = ["# Benchmarks", "",
             "Written by `make bench` (full mode) and `make bench FAST=1` (fast mode); rerun to update.",
             "Times are wall-clock seconds of the whole notebook (kernel start included); CPU s is the",
             "kernel's CPU time (user + system, both cores together) and load the highest 1-minute load",
             "average of the machine during the run: with load above the number of cores, other work",
             "shared the CPU and the wall-clock time is longer than on an idle machine (compare CPU s).",
             "Peak MB is the",
             "kernel's peak resident memory, polled every 0.2 s (GPU tables: also its peak GPU memory from",
             "`nvidia-smi`, polled every second). Headline: what the notebook records with",
             "`cu.record_headline` (✓ target reached, ✗ missed).", ""]
    for m in ("full", "fast", "gpu-full", "gpu-fast"):
        if m not in data:
            continue
        on_gpu = m.startswith("gpu-")
        title = f"{m.replace('gpu-', '')} mode" + (" on a GPU" if on_gpu else "")
        lines += [f"## {title}", ""]
        if on_gpu:
            lines += ["| notebook | status | seconds | peak MB | peak GPU MB | headline | date | GPU | machine |",
                      "|---|---|---|---|---|---|---|---|---|"]
        else:
            lines += ["| notebook | status | seconds | CPU s | load | peak MB | headline | date | machine |",
                      "|---|---|---|---|---|---|---|---|---|"]
        for nb in sorted(data[m]):
            r = data[m][nb]
            headline = r["headline"].replace("|", "\\|")  # a | in a metric name would split the cell
            if on_gpu:
                lines.append(f"| {nb} | {r['status']} | {r['seconds']} | {r['peak_mb']} | "
                             f"{r.get('gpu_peak_mb') if r.get('gpu_peak_mb') is not None else '—'} | {headline} | "
                             f"{r['date']} | {r.get('gpu', '?')} | {r['machine']} |")
            else:
                cpu, load = r.get("cpu_seconds"), r.get("load")
                lines.append(f"| {nb} | {r['status']} | {r['seconds']} | {'—' if cpu is None else cpu} | "
                             f"{'—' if load is None else load} | {r['peak_mb']} | {headline} | "
                             f"{r['date']} | {r['machine']} |")
        total = sum(r["seconds"] for r in data[m].values())
        n = len(data[m])
        lines += ["", f"Whole course: {total:.0f} s ({n} notebook{'s' if n != 1 else ''}).", ""]
    if "gpu-full" not in data:
        lines += ["## full mode on a GPU", "",
                  "Not measured: no GPU was available where `make bench` last ran. On a machine with an NVIDIA GPU,",
                  "`make bench` writes this table (time, peak memory and peak GPU memory per notebook; target: the",
                  "whole course in 10 minutes or less on one modern GPU).", ""]
    if "tests" in data:
        t = data["tests"]
        lines += ["## Test suite cost per notebook (`make bench-tests`)", "",
                  f"`make test` on {t['machine']}, {t['workers']} workers, {t['date']}: {t['wall_seconds']:.0f} s wall"
                  f" (exit status {t['exitstatus']}). A notebook costs its nbval run (instructor version, every cell,"
                  " nbgrader's rule on its test cells) plus one run of its student version, in worker-seconds.", "",
                  "| notebook | nbval s | student run s | total s |", "|---|---|---|---|"]
        for nb, r in t["per_notebook"].items():
            lines.append(f"| {nb} | {r.get('nbval', 0)} | {r.get('student', 0)} | {r['total']} |")
        lines += ["", f"Everything else (unit tests, lint, grading class and integrity runs, browser): "
                      f"{t['fixed_seconds']:.0f} worker-seconds. Workers were busy {t['efficiency']:.0%} of the wall time.",
                  "", f"**Extrapolation to {t['planned']} notebooks** at the current mean of {t['mean_per_notebook']} s"
                      f" per notebook: about **{t['estimate_minutes']} minutes** (limit {t['limit_minutes']:g}). To stay"
                      f" within the limit a notebook may cost the suite up to {t['budget_per_notebook']:.0f} s on"
                      " average (its fast mode runs twice).", ""]
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
    ap.add_argument("--test-times", metavar="JSON", help="only add the test-suite cost per notebook (written by "
                    "`make test` to build/test-times.json) to the --bench table, and exit")
    args = ap.parse_args(argv)
    if args.test_times:
        if not args.bench:
            ap.error("--test-times needs --bench FILE")
        s = update_test_times(Path(args.bench), Path(args.test_times))
        print(f"Test-suite cost per notebook added to {args.bench}: mean {s['mean_per_notebook']} s; "
              f"{s['planned']} notebooks about {s['estimate_minutes']} min (limit {s['limit_minutes']:g})")
        return 0

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
        from ..env import gpu_info
        gpus = gpu_info() or []
        update_bench(Path(args.bench), results, args.fast, params,
                     gpu=", ".join(g["name"] for g in gpus) if gpus else None)
        print(f"Benchmark table updated: {args.bench}")
    return 0 if all(r.status == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
