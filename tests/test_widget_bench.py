"""The widget benchmark (make bench-widgets) on a tiny widget: rows, Play, the merged table."""
import json

import pytest

pytest.importorskip("ipywidgets")

from course_utils.tools import widget_bench as wb  # noqa: E402
from course_utils.widgets import base  # noqa: E402


class Tiny(base.Explorer):
    """A slider, a dropdown and a Play that each redraw a small figure."""

    def _build_controls(self):
        W = self._W
        self.x = W.FloatSlider(value=0.0, min=-1.0, max=1.0, step=0.1)
        self.kind = W.Dropdown(options=[("dot", "o"), ("cross", "x")], value="o")
        self.play = W.Play(value=0, min=0, max=1000, interval=20)
        for w in (self.x, self.kind, self.play):
            w.observe(lambda change: self.refresh(), names="value")
        self.controls = [self.x, self.kind, self.play]

    def render(self):
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(1.5, 1))
        ax.plot([self.x.value], [self.play.value % 7], self.kind.value)
        return fig


def test_change_values_sweep_the_range_without_repeats():
    t = Tiny()
    vals = wb.change_values(t.x, 20)
    assert len(vals) == 20 and all(-1.0 <= v <= 1.0 for v in vals)
    assert all(a != b for a, b in zip(vals, vals[1:])) and vals[0] != t.x.value
    assert len(set(vals)) > 10
    opts = wb.change_values(t.kind, 5)
    assert opts[0] == "x" and set(opts) == {"o", "x"}
    assert all(a != b for a, b in zip(opts, opts[1:]))


def test_rows_play_and_the_merged_table(tmp_path):
    section = wb.run(cases=[wb.Case("tiny", Tiny, "x", what="x slider"),
                            wb.Case("tiny", Tiny, "kind", what="marker")],
                     play_cases=[wb.PlayCase("tiny", Tiny, seconds=0.3, target_fps=1.0)], n=4)
    rows = section["rows"]
    assert [r["changed"] for r in rows] == ["x slider", "marker", "Play"]
    for r in rows[:2]:
        assert r["n"] == 4 and 0 < r["median_ms"] <= r["p90_ms"] and r["unchanged_frames"] == 0
        assert r["target"] == "≤ 100 ms" and isinstance(r["met"], bool)
    assert rows[2]["fps"] > 0 and rows[2]["interval_ms"] == 20
    assert section["stack"] in ("current", "oldest") and "numpy" in section["versions"]
    out = tmp_path / "WIDGETS.md"
    wb.write(section, out)
    wb.write(dict(section, stack="oldest", title=None), out)  # a second stack: a second section
    data = json.loads(out.with_suffix(".json").read_text())
    assert set(data) >= {"oldest"} and len(data) == (1 if section["stack"] == "oldest" else 2)
    md = out.read_text()
    assert "| tiny | x slider |" in md and "Oldest supported stack" in md
    assert md.count("| widget | changed |") == len(data)


def test_every_registered_case_names_a_real_control():
    import importlib
    for c in wb.CASES + wb.PLAY_CASES:
        module, attr = c.factory.split(":")
        assert callable(getattr(importlib.import_module(module), attr)), c
