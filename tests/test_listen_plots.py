"""Listening-test figures keep their text readable: the per-item legend never covers the points, and the
condition labels of an agreement scatter plot never overlap."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
from matplotlib.text import Text

from listening_test.agreement import scatter_figure
from listening_test.plots import item_figure


def test_item_plot_legend_is_outside_the_axes():
    conditions = ["reference", "opus", "opus_spf", "audiodec_stage1", "scoredec", "anchor70", "anchor35"]
    means = {c: {f"item{i:02d}": (20.0 + 10 * k, 5.0) for i in range(1, 4)} for k, c in enumerate(conditions)}
    fig = item_figure(means, "MUSHRA score", (0, 100))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent(renderer)
    assert not legend.overlaps(ax.get_window_extent(renderer))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == conditions
    plt.close(fig)


def test_agreement_scatter_labels_do_not_overlap():
    # condition means close together, as for opus/opus_spf and symad/scoredec/audiodec_stage1
    conditions = {"natural": (4.6, 95.0), "anchor70": (4.55, 94.0), "opus": (3.9, 80.0), "opus_spf": (3.92, 80.5),
                  "symad": (3.0, 60.0), "scoredec": (3.02, 60.4), "audiodec_stage1": (3.01, 60.2)}
    listening, values = {}, {}
    for c, (x, y) in conditions.items():
        for item in ("i1", "i2", "i3"):
            listening[(item, c)], values[(item, c)] = y, x
    fig = scatter_figure("pesq_wb", listening, values, "MUSHRA score", oriented=False)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for t in fig.axes[0].texts if t.get_text() in conditions]
    assert sorted(t.get_text() for t in texts) == sorted(conditions)
    boxes = [Text.get_window_extent(t, renderer) for t in texts]  # the text itself, not its leader line
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
    plt.close(fig)
