"""The scatter plot's labels do not overlap each other or the points, even when systems cluster."""

from __future__ import annotations

import numpy as np
from matplotlib.text import Text

from reports.figures import new_figure, plt
from reports.plots import place_labels


def test_labels_of_clustered_points_do_not_overlap() -> None:
    rng = np.random.default_rng(0)
    names = ["audiodec_stage1", "audiodec", "symad", "scoredec", "opus", "opus_spf", "anchor70", "anchor35"]
    # six systems within a few percent of each other (as PESQ 1.08 vs 1.09 are), two far away
    xs = np.r_[1.08 + rng.normal(0, 0.004, 6), 2.5, 3.9]
    ys = np.r_[-20 + rng.normal(0, 0.3, 6), 5.0, 12.0]
    fig, axes = new_figure(4.0, 3.2)
    ax = axes[0, 0]
    ax.plot(xs, ys, "o")
    ax.margins(0.12)
    anns = place_labels(ax, list(zip(xs, ys, names)))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [Text.get_window_extent(a, renderer) for a in anns]  # the text itself, not its leader line
    assert [a.get_text() for a in anns] == names
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (names[i], names[j])
    for box in boxes:  # no label covers a point
        for x, y in zip(xs, ys):
            assert not box.contains(*ax.transData.transform((x, y)))
    # a naive fixed offset (what the plot did before) does overlap here: the check has teeth
    naive = [ax.annotate(n, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7) for x, y, n in zip(xs, ys, names)]
    fig.canvas.draw()
    nb = [a.get_window_extent(renderer) for a in naive]
    assert any(nb[i].overlaps(nb[j]) for i in range(len(nb)) for j in range(i + 1, len(nb)))
    plt.close(fig)
