"""Widget frame times (``make bench-widgets``): control change → new PNG, and Play frames/s.

Each widget is built headless and driven the way a learner's browser drives it: a control's
``.value`` is set (its callbacks run, as in the kernel) and the time until the call returns
with a new PNG in the widget's ``Image`` is one frame. For every :data:`CASES` row: the median
and 90th percentile over 20 changes, after 3 warm-up changes that are not counted (the first
change of a widget builds caches, traces TensorFlow functions ...). For every
:data:`PLAY_CASES` row, the Play control is ticked like the front end ticks it (one tick per
``interval`` ms, ticks that arrive while a frame is drawn wait in the queue) for a few
seconds, and the frames actually drawn per second are counted, training included.

Results go to ``benchmarks/WIDGETS.json`` (one section per library stack, merged) and
``benchmarks/WIDGETS.md``. Run it on each stack::

    python -m course_utils.tools.widget_bench                  # the current .venv
    .venv-oldest/bin/python -m course_utils.tools.widget_bench # the oldest supported stack

A new widget is one line in :data:`CASES` (and one in :data:`PLAY_CASES` if it has a Play).
Other processes on the machine slow every number: the load average before and after is
recorded next to each section.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
OUT = REPO_ROOT / "benchmarks" / "WIDGETS.md"
TARGET_MS = 100.0
TARGET_FPS = 10.0


@dataclass(frozen=True)
class Case:
    """One row: build ``factory(*args, **kwargs)``, then set ``widget.<control>.value``.

    ``values``: what to set, in turn (default: spread over the control's range, or its
    options, never twice the same value in a row). ``what``: the text of the "changed" column.
    """
    name: str
    factory: object               # "module:attribute" (e.g. "course_utils.widgets.playground:Playground") or a callable
    control: str                  # attribute of the widget holding the control
    values: tuple | None = None
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    what: str = ""
    target_ms: float = TARGET_MS


@dataclass(frozen=True)
class PlayCase:
    """One Play row: tick ``widget.<control>`` at its interval for ``seconds``; frames/s drawn."""
    name: str
    factory: object
    control: str = "play"
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    what: str = "Play"
    seconds: float = 4.0
    target_fps: float = TARGET_FPS


W = "course_utils.widgets."
# One line per (widget, control). Later Parts add their widgets here.
CASES = [
    Case("neuron_explorer", W + "neuron_explorer:NeuronExplorer", "w1", what="w1 slider"),
    Case("neuron_explorer", W + "neuron_explorer:NeuronExplorer", "activation",
         what="output toggle (step/sigmoid)"),
    Case("activation_lab", W + "activation_lab:ActivationLab", "bias", what="bias slider"),
    Case("activation_lab", W + "activation_lab:ActivationLab", "depth", what="depth slider (1-40)"),
    Case("descent_explorer", W + "descent_explorer:DescentExplorer", "progress",
         what="epochs shown slider"),
    Case("descent_explorer", W + "descent_explorer:DescentExplorer", "lr",
         what="learning rate slider (re-runs the 3 descents)"),
    Case("descent_explorer", W + "descent_explorer:DescentExplorer", "batch",
         what="mini-batch size dropdown (re-runs the 3 descents)"),
    Case("descent_explorer", W + "descent_explorer:DescentExplorer", "epochs",
         what="budget slider (re-runs; the loss panel's x axis)"),
    Case("optimizer_race", W + "optimizer_race:OptimizerRace", "w_momentum", kwargs={"steps": 100},
         what="momentum slider (new race)"),
    Case("optimizer_race", W + "optimizer_race:OptimizerRace", "w_play", kwargs={"steps": 100},
         values=tuple(range(1, 21)), what="Play tick (+20 steps)"),
    Case("playground", W + "playground:Playground", "w_noise", what="noise slider (new data and model)"),
    Case("playground", W + "playground:Playground", "w_act", what="activation dropdown (new model)"),
    Case("augmentation_previewer", W + "augmentation_previewer:AugmentationPreviewer", "rotation",
         what="RandomRotation slider (rotation, zoom, translation, contrast re-run on 7 photos)"),
    Case("augmentation_previewer", W + "augmentation_previewer:AugmentationPreviewer", "seed",
         what="seed slider (all 5 layers re-run)"),
    Case("capacity_explorer", W + "capacity_explorer:CapacityExplorer", "w_width",
         what="width slider (cached runs)"),
    Case("capacity_explorer", W + "capacity_explorer:CapacityExplorer", "w_epoch",
         what="map-at-epoch slider"),
    Case("regularization_lab", W + "regularization_lab:RegularizationLab", "w_l2",
         what="L2 λ slider (cached runs, shown at once)"),
    Case("regularization_lab", W + "regularization_lab:RegularizationLab", "w_patience", kwargs={"epochs": 10},
         what="early-stopping patience (10 epochs trained)"),
    Case("gradient_flow", W + "gradient_flow:GradientFlowExplorer", "init",
         what="init dropdown (cached or untrained run)"),
    Case("gradient_flow", W + "gradient_flow:GradientFlowExplorer", "depth", what="depth slider (1-30)"),
    Case("feature_map_browser", W + "feature_map_browser:demo_browser", "image_index",
         what="image slider (a new image: one model call with Grad-CAM)"),
    Case("feature_map_browser", W + "feature_map_browser:demo_browser", "center_cell", values=(True, False),
         what="a click on the drawing grid (two drawings, cached after the first)"),
    Case("convolution_explorer", W + "convolution_explorer:ConvolutionExplorer", "w_position",
         what="window position slider"),
    Case("convolution_explorer", W + "convolution_explorer:ConvolutionExplorer", "w_stride",
         what="stride slider (1-3)"),
    Case("convolution_explorer", W + "convolution_explorer:ConvolutionExplorer", "w_padding",
         what="padding valid/same"),
    Case("convolution_explorer", W + "convolution_explorer:ConvolutionExplorer", "w_preset",
         what="kernel preset"),
    Case("box_iou_explorer", W + "box_iou_explorer:demo_explorer", "a_cx", what="box A cx slider (IoU panel)"),
    Case("box_iou_explorer", W + "box_iou_explorer:demo_explorer", "w_score",
         what="score-threshold slider (NMS panels)"),
    Case("box_iou_explorer", W + "box_iou_explorer:demo_explorer", "w_iou", what="NMS IoU slider"),
    Case("box_iou_explorer", W + "box_iou_explorer:demo_explorer", "w_image", what="image slider (held-out scene)"),
    Case("unrolled_rnn", W + "unrolled_rnn:UnrolledRNNViewer", "radius", what="radius slider (0.1-3)"),
    Case("unrolled_rnn", W + "unrolled_rnn:UnrolledRNNViewer", "step", what="step slider (1-40)"),
    Case("lstm_gate_inspector", W + "lstm_gate_inspector:demo_inspector", "distance",
         what="distance slider (a new sentence: NumPy forward)"),
    Case("lstm_gate_inspector", W + "lstm_gate_inspector:demo_inspector", "noise", what="noise slider"),
    Case("embedding_projector", W + "embedding_projector:demo_projector", "word", what="word box (neighbours)"),
    Case("embedding_projector", W + "embedding_projector:demo_projector", "table",
         what="table toggle (trained/pretrained)"),
    Case("embedding_projector", W + "embedding_projector:demo_projector", "preset",
         values=(("man", "king", "woman"), ("france", "paris", "germany"), ("good", "better", "bad"),
                 ("england", "english", "france")), what="analogy preset dropdown"),
    Case("embedding_projector", W + "embedding_projector:demo_projector", "k", what="neighbours slider (1-20)"),
    Case("forecast_explorer", W + "forecast_explorer:demo_explorer", "w_threshold",
         what="anomaly threshold slider"),
    Case("forecast_explorer", W + "forecast_explorer:demo_explorer", "w_model",
         what="model dropdown (precomputed forecasts)"),
    Case("forecast_explorer", W + "forecast_explorer:demo_explorer", "w_range",
         values=tuple((i, i + 3) for i in range(100, 172, 3)),
         what="month range (new axes limits: both axes redrawn)"),
]
PLAY_CASES = [
    PlayCase("playground", W + "playground:Playground", what="Play, default setup (circle, 4-2, 5 epochs per frame)"),
    PlayCase("playground", W + "playground:Playground",
             args=("ds=spiral;noise=0.1;feat=x1,x2,sin1,sin2;layers=8,8,4;act=tanh;opt=adam;lr=0.01",),
             what="Play, notebook 06 setup (spiral, 8-8-4, 4 features)", target_fps=0.0),
    PlayCase("regularization_lab", W + "regularization_lab:RegularizationLab", control="w_play",
             what="Play, 2 mini-batches of 100 a tick (an epoch = 5)"),
    PlayCase("gradient_flow", W + "gradient_flow:GradientFlowExplorer",
             what="Play (5 mini-batches of the 20-layer Keras model per frame)"),
    PlayCase("capacity_explorer", W + "capacity_explorer:CapacityExplorer", kwargs={"warm_epochs": 5},
             what="Play: a chunk of epochs per frame, real Keras MLP"),
    PlayCase("unrolled_rnn", W + "unrolled_rnn:UnrolledRNNViewer", what="Play: one step of the sequence a frame"),
]
N_CHANGES = 20
N_WARMUP = 3
TITLES = {"current": "Current stack", "oldest": "Oldest supported stack (pyproject extra `oldest`)"}


def _build(factory, args=(), kwargs=None):
    if isinstance(factory, str):
        module, attr = factory.split(":")
        factory = getattr(importlib.import_module(module), attr)
    return factory(*args, **(kwargs or {}))


def _png(widget) -> bytes:
    v = widget.image.value
    return v.tobytes() if isinstance(v, memoryview) else bytes(v)


def change_values(control, n: int) -> list:
    """``n`` values for ``control``: its options in turn, or a sweep over [min, max]."""
    options = getattr(control, "options", None)
    if options:
        vals = [o[1] if isinstance(o, tuple) else o for o in options]
        vals = [v for v in vals if v != control.value] + [control.value]
        return [vals[i % len(vals)] for i in range(n)]
    lo, hi = control.min, control.max
    if type(control).__name__ == "FloatLogSlider":
        lo, hi = control.base ** lo, control.base ** hi
        import numpy as np
        vals = np.geomspace(lo, hi, n + 1)
    else:
        import numpy as np
        vals = np.linspace(lo, hi, n + 1)
    step = getattr(control, "step", None)
    import math
    stride = next(k for k in (7, 11, 13, 17, 19, 23, 1) if math.gcd(k, n + 1) == 1)
    out = []
    for i in range(n):
        v = vals[(i * stride) % (n + 1)]  # every point once, jumping around the range
        if isinstance(control.value, int) and not isinstance(control.value, bool):
            v = int(round(v))
        elif step and type(control).__name__ != "FloatLogSlider":
            v = round(round((v - lo) / step) * step + lo, 10)
        else:
            v = float(v)
        out.append(v)
    # no two equal values in a row (the callback would not run)
    for i in range(1, n):
        if out[i] == out[i - 1]:
            out[i] = lo if out[i] != lo else hi
    if out and out[0] == control.value:
        out[0] = hi if control.value != hi else lo
    return out


def _stats(ms: list) -> tuple[float, float]:
    ms = sorted(ms)
    p90 = ms[min(len(ms) - 1, int(round(0.9 * (len(ms) - 1))))]
    return statistics.median(ms), p90


def measure_case(case: Case, n: int = N_CHANGES, warmup: int = N_WARMUP) -> dict:
    """Median and p90 (ms) of control change → new PNG over ``n`` changes."""
    widget = _build(case.factory, case.args, case.kwargs)
    control = getattr(widget, case.control)
    values = list(case.values) if case.values else change_values(control, n + warmup)
    if case.values:
        values = (values * ((n + warmup) // len(values) + 1))[: n + warmup]
    times, cpu, unchanged = [], [], 0
    for i, v in enumerate(values):
        before = _png(widget)
        t0, c0 = time.perf_counter(), time.process_time()
        control.value = v
        dt_ms, cpu_ms = 1000 * (time.perf_counter() - t0), 1000 * (time.process_time() - c0)
        if _png(widget) == before:
            unchanged += 1
        if i >= warmup:
            times.append(dt_ms)
            cpu.append(cpu_ms)
    med, p90 = _stats(times)
    return {"widget": case.name, "changed": case.what or case.control, "median_ms": round(med, 1),
            "p90_ms": round(p90, 1), "cpu_median_ms": round(statistics.median(cpu), 1),
            "target": f"≤ {case.target_ms:g} ms", "met": bool(med <= case.target_ms), "n": len(times),
            "unchanged_frames": unchanged, "png_kb": round(len(_png(widget)) / 1024, 1)}


def measure_play(case: PlayCase) -> dict:
    """Frames per second of the Play control, ticked at its interval as the front end does."""
    widget = _build(case.factory, case.args, case.kwargs)
    play = getattr(widget, case.control)
    interval = play.interval / 1000.0
    # warm-up: the first ticks trace the training function
    for k in range(3):
        before = _png(widget)
        play.value = play.value + 1
        time.sleep(interval)
    frame_ms, frames = [], 0
    c_start = time.process_time()
    t_start = time.perf_counter()
    k = 0
    while True:
        due = t_start + k * interval  # tick k leaves the browser at this time
        now = time.perf_counter()
        if now - t_start >= case.seconds:
            break
        if now < due:
            time.sleep(due - now)
        before = _png(widget)
        t0 = time.perf_counter()
        play.value = play.value + 1
        t1 = time.perf_counter()
        if _png(widget) != before:
            frames += 1
            frame_ms.append(1000 * (t1 - t0))
        k += 1
    elapsed = time.perf_counter() - t_start
    busy = time.process_time() - c_start
    fps = frames / elapsed
    med, p90 = _stats(frame_ms) if frame_ms else (float("nan"), float("nan"))
    target = f"≥ {case.target_fps:g} frames/s" if case.target_fps else "(information)"
    return {"widget": case.name, "changed": case.what, "median_ms": round(med, 1),
            "p90_ms": round(p90, 1), "fps": round(fps, 1), "interval_ms": play.interval,
            "cpu_share": round(busy / elapsed, 2),
            "target": target, "met": bool(fps >= case.target_fps), "n": frames,
            "png_kb": round(len(_png(widget)) / 1024, 1)}


def versions() -> dict:
    out = {"python": platform.python_version()}
    for name in ("numpy", "matplotlib", "PIL", "ipywidgets", "keras", "tensorflow"):
        try:
            mod = importlib.import_module(name)
            out["pillow" if name == "PIL" else name] = getattr(mod, "__version__", "?")
        except ImportError:
            out[name] = "not installed"
    return out


def stack_name(vers: dict) -> str:
    """'oldest' when the versions are the pyproject ``oldest`` pins, else 'current'."""
    try:
        import tomllib
        pins = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"][
            "optional-dependencies"]["oldest"]
        pinned = dict(p.split("==") for p in pins if "==" in p)
        names = {"tensorflow-cpu": "tensorflow", "tensorflow": "tensorflow", "keras": "keras",
                 "numpy": "numpy", "matplotlib": "matplotlib", "ipywidgets": "ipywidgets"}
        if all(vers.get(names[k], "").startswith(v) for k, v in pinned.items() if k in names):
            return "oldest"
    except Exception:  # no pyproject (installed package): a plain label
        pass
    return "current"


def _machine() -> str:
    from .run import machine
    return machine()


def _load() -> str:
    try:
        return "/".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def run(cases=None, play_cases=None, only: str | None = None, n: int = N_CHANGES,
        stack: str | None = None) -> dict:
    """Measure every case (or those whose widget name contains ``only``); returns a section."""
    import matplotlib
    matplotlib.use("Agg")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cases = CASES if cases is None else cases
    play_cases = PLAY_CASES if play_cases is None else play_cases
    if only:
        cases = [c for c in cases if only in c.name]
        play_cases = [c for c in play_cases if only in c.name]
    load_before = _load()
    rows = []
    for c in cases:
        r = measure_case(c, n=n)
        rows.append(r)
        print(f"{r['widget']:<18} {r['changed']:<48} median {r['median_ms']:7.1f} ms  p90 "
              f"{r['p90_ms']:7.1f} ms  {'met' if r['met'] else 'MISSED'}", flush=True)
    for c in play_cases:
        r = measure_play(c)
        rows.append(r)
        print(f"{r['widget']:<18} {r['changed']:<48} {r['fps']:5.1f} frames/s (frame median "
              f"{r['median_ms']:.1f} ms, p90 {r['p90_ms']:.1f} ms)  {'met' if r['met'] else 'MISSED'}",
              flush=True)
    vers = versions()
    return {"stack": stack or stack_name(vers), "date": dt.date.today().isoformat(), "machine": _machine(),
            "load_before": load_before, "load_after": _load(), "versions": vers, "rows": rows}


def write(section: dict, out: Path = OUT) -> None:
    """Merge ``section`` into ``out``'s JSON (by stack) and rewrite the Markdown table."""
    json_path = out.with_suffix(".json")
    data = json.loads(json_path.read_text()) if json_path.exists() else {}
    data[section["stack"]] = section
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    out.write_text(markdown(data))


def markdown(data: dict) -> str:
    lines = ["# Widget frame times", "",
             "Written by `make bench-widgets` (`python -m course_utils.tools.widget_bench`, run in each",
             "stack's venv; a widget is one line in its `CASES`). A frame: setting a control's `.value`",
             "headless (its callbacks run as in the kernel) until the new PNG is in the widget's image;",
             f"median and 90th percentile over {N_CHANGES} changes after {N_WARMUP} warm-up changes (values spread "
             "over the",
             "control's range or options; a control with few positions gets each about twice, so kept panels",
             "count as they do for a learner moving a slider to and fro), and the median CPU time of",
             "the process (close to the wall time on an idle machine; above it when TensorFlow or BLAS use",
             "both cores). Play: the Play control ticked at its interval as the browser does, for a few",
             "seconds (ticks that arrive during a frame wait; the widget drops those that waited): frames",
             "actually drawn per second, training included; its ms columns are one drawn frame. Targets",
             "(CONVENTIONS.md, \"Widgets\"): ≤ 100 ms a change, ≥ 10 frames/s for a training widget's Play,",
             "on 2 cores. Other processes on the machine slow every number: the load average (1/5/15 min)",
             "is given before and after each run.", ""]
    order = {"current": 0, "oldest": 1}
    for key in sorted(data, key=lambda k: (order.get(k, 2), k)):
        s = data[key]
        v = s["versions"]
        lines += [f"## {s.get('title') or TITLES.get(key, key)}", ""]
        if s.get("note"):
            lines += [s["note"], ""]
        lines += ["Libraries: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".  ",
                  f"Machine: {s['machine']}; load average {s['load_before']} before, "
                  f"{s['load_after']} after.", "",
                  "| widget | changed | median ms | p90 ms | CPU ms | frames/s | target | met? | date | machine "
                  "| libraries |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        libs = (f"TF {v.get('tensorflow')}, Keras {v.get('keras')}, NumPy {v.get('numpy')}, "
                f"mpl {v.get('matplotlib')}, ipywidgets {v.get('ipywidgets')}")
        for r in s["rows"]:
            fps = f"{r['fps']:.1f}" if "fps" in r else "—"
            cpu = f"{r['cpu_median_ms']:.0f}" if "cpu_median_ms" in r else "—"
            met = "✓" if r["met"] else "✗"
            if "fps" in r and r["target"].startswith("("):
                met = "—"
            lines.append(f"| {r['widget']} | {r['changed']} | {r['median_ms']:.0f} | {r['p90_ms']:.0f} | {cpu} | "
                         f"{fps} | {r['target']} | {met} | {s['date']} | {s['machine']} | {libs} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="measure only widgets whose name contains this")
    ap.add_argument("--out", type=Path, default=OUT, help="Markdown table to write (and its .json)")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("-n", type=int, default=N_CHANGES, help="changes per row")
    ap.add_argument("--strict", action="store_true", help="exit 1 if a row misses its target")
    ap.add_argument("--stack", help="section name (default: 'oldest' on the pyproject 'oldest' pins, "
                    "else 'current')")
    args = ap.parse_args(argv)
    section = run(only=args.only, n=args.n, stack=args.stack)
    print(f"stack {section['stack']}: {section['versions']}; load {section['load_before']} → "
          f"{section['load_after']}")
    if not args.no_write and not args.only and args.n == N_CHANGES:
        write(section, args.out)
        print(f"wrote {args.out} and {args.out.with_suffix('.json')}")
    met = sum(r["met"] for r in section["rows"])
    print(f"{met} of {len(section['rows'])} rows meet their target")
    return 0 if met == len(section["rows"]) or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
