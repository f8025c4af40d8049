"""Draw the figures of the mlp_optimizers course text (图1-图9).

The original assignment refers to nine figures that were never shipped. This
script draws them with matplotlib (Agg backend, no network, no data files):

    fig1_flatten.png              a 28x28 digit image flattened into a 784-vector
    fig2_network.png              the network 784-300-300-10
    fig3_leaky_relu.png           LeakyReLU and its derivative
    fig4_affine_shapes.png        the shapes in Y = X . W + B
    fig5_affine_graph.png         computational graph of the Affine layer (forward)
    fig6_affine_backward.png      the same graph with the backward pass
    fig7_affine_batch.png         the batched Affine layer, forward and backward
    fig8_softmax.png              softmax turning scores into probabilities
    fig9_softmax_with_loss.png    computational graph of the Softmax-with-Loss layer

Labels are in English and mathtext, so no CJK font is needed. The output is
deterministic: running the script twice writes byte-identical PNG files.

Usage (from the repository root; `make figures` does exactly this):

    .venv/bin/python scripts/draw_figures.py source/mlp_optimizers/images

The only argument is the output folder (default: source/mlp_optimizers/images).
"""
import io
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle  # noqa: E402
from PIL import Image  # noqa: E402  (Pillow, a dependency of matplotlib)

DEFAULT_OUT_DIR = "source/mlp_optimizers/images"
DPI = 120
FORWARD_COLOR = "black"
BACKWARD_COLOR = "#d62728"
NODE_FACE = "#e8f0fb"
VALUE_FACE = "#fdf3e1"

plt.rcParams.update({
    "font.size": 12,
    "mathtext.fontset": "dejavusans",
})


# ----------------------------------------------------------------------------
# shared helpers
# ----------------------------------------------------------------------------

def diagram(width, height, xlim, ylim):
    """A figure with one axis-free, equal-aspect axes spanning data box xlim x ylim."""
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def box(ax, center, text, width=1.0, height=0.8, face=VALUE_FACE, fontsize=14):
    """A rounded box centred at `center` with `text` inside."""
    x, y = center
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.02,rounding_size=0.12",
                                facecolor=face, edgecolor="black", linewidth=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def circle(ax, center, radius, text="", face=NODE_FACE, fontsize=14, linewidth=1.2):
    """A circle centred at `center`, optionally with `text` inside."""
    ax.add_patch(Circle(center, radius, facecolor=face, edgecolor="black",
                        linewidth=linewidth, zorder=3))
    if text:
        ax.text(*center, text, ha="center", va="center", fontsize=fontsize, zorder=4)


def arrow(ax, start, end, color=FORWARD_COLOR, linewidth=1.6, mutation_scale=16):
    """A straight arrow from `start` to `end` (data coordinates)."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", color=color,
                                 linewidth=linewidth, mutation_scale=mutation_scale,
                                 shrinkA=0, shrinkB=0, zorder=2))


def edge(ax, start, end, forward_label="", backward_label="", backward=False,
         offset=0.14, gap=0.12, fontsize=13):
    """A graph edge from `start` to `end`, optionally with its backward twin.

    The forward arrow (black) runs on the left-hand side of the direction of
    travel (above a left-to-right edge, left of an upward edge) and is labelled
    on that side; the backward arrow (red) runs the other way on the right-hand
    side and is labelled there. Without `backward` only the forward arrow is
    drawn, on the centre line.
    """
    p0, p1 = np.asarray(start, float), np.asarray(end, float)
    direction = (p1 - p0) / np.linalg.norm(p1 - p0)
    normal = np.array([-direction[1], direction[0]])  # left of the direction of travel
    middle = (p0 + p1) / 2
    fwd_shift = normal * offset if backward else np.zeros(2)
    arrow(ax, p0 + fwd_shift, p1 + fwd_shift)
    if forward_label:
        _side_label(ax, middle + fwd_shift + normal * gap, normal, forward_label,
                    FORWARD_COLOR, fontsize)
    if backward:
        arrow(ax, p1 - normal * offset, p0 - normal * offset, color=BACKWARD_COLOR)
        if backward_label:
            _side_label(ax, middle - normal * (offset + gap), -normal, backward_label,
                        BACKWARD_COLOR, fontsize)


def _side_label(ax, position, side, text, color, fontsize):
    """Write `text` at `position`, extending away from the edge towards `side`."""
    ha = "center" if abs(side[0]) < 0.5 else ("left" if side[0] > 0 else "right")
    va = "center" if abs(side[1]) < 0.5 else ("bottom" if side[1] > 0 else "top")
    ax.text(*position, text, ha=ha, va=va, color=color, fontsize=fontsize,
            multialignment="center")


def legend(ax, corner, length=0.9, step=0.5, fontsize=12):
    """Two sample arrows, "forward" (black) and "backward" (red), from `corner` downwards."""
    x, y = corner
    for i, (color, name) in enumerate(((FORWARD_COLOR, "forward"), (BACKWARD_COLOR, "backward"))):
        yy = y - i * step
        start, end = ((x, yy), (x + length, yy)) if i == 0 else ((x + length, yy), (x, yy))
        arrow(ax, start, end, color=color)
        ax.text(x + length + 0.2, yy, name, color=color, fontsize=fontsize, va="center")


def shape(*dims):
    """Text of a numpy shape: shape(2) -> "(2,)", shape("N", 2) -> "(N, 2)"."""
    return "(%s,)" % dims[0] if len(dims) == 1 else "(%s)" % ", ".join(map(str, dims))


def save(fig, out_dir, name, colors=None):
    """Save `fig` as out_dir/name (PNG, white background, no volatile metadata).

    With `colors`, the image is reduced to a palette of that many colours, which
    keeps figures full of thin anti-aliased lines small.
    """
    path = Path(out_dir) / name
    if colors is None:
        fig.savefig(path, dpi=DPI, facecolor="white", metadata={"Software": None})
    else:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
        image = Image.open(buffer).convert("RGB")
        palette = image.quantize(colors=colors, dither=Image.Dither.NONE)
        palette.save(path, optimize=True, dpi=(DPI, DPI))
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------

def synthetic_digit(size=28, width=1.1):
    """A hand-drawn looking "5" as a (size, size) array in [0, 1].

    The digit is a polyline (top bar, down stroke, belly) rasterised by taking,
    for each pixel, a Gaussian of its distance to the nearest stroke segment.
    """
    top_bar = [(19.5, 6.0), (9.5, 6.5)]
    stem = [(9.5, 6.5), (8.5, 13.0)]
    angles = np.linspace(np.deg2rad(200), np.deg2rad(-140), 18)
    belly = [(14.0 + 6.0 * np.cos(a), 17.5 - 5.5 * np.sin(a)) for a in angles]
    strokes = [top_bar, stem, [(8.5, 13.0)] + belly[3:]]
    rows, cols = np.mgrid[0:size, 0:size] + 0.5
    points = np.stack([cols.ravel(), rows.ravel()], axis=1)  # (x, y) of pixel centres
    distance = np.full(len(points), np.inf)
    for stroke in strokes:
        for a, b in zip(stroke[:-1], stroke[1:]):
            a, b = np.asarray(a), np.asarray(b)
            t = np.clip((points - a) @ (b - a) / np.dot(b - a, b - a), 0.0, 1.0)
            nearest = a + t[:, None] * (b - a)
            distance = np.minimum(distance, np.linalg.norm(points - nearest, axis=1))
    image = np.exp(-(distance / width) ** 2 / 2).reshape(size, size)
    image[image < 0.05] = 0.0
    return np.round(image, 2)


def draw_flatten(out_dir):
    """图1: a 28x28 grey-level image is flattened, row after row, into a 784-vector."""
    digit = synthetic_digit()
    vector = digit.ravel()
    fig = plt.figure(figsize=(10.0, 4.0))

    ax_img = fig.add_axes([0.03, 0.1, 0.3, 0.78])
    ax_img.imshow(digit, cmap="Greys", vmin=0, vmax=1, extent=(0, 28, 28, 0))
    ax_img.set_xticks(np.arange(0, 29, 1), minor=True)
    ax_img.set_yticks(np.arange(0, 29, 1), minor=True)
    ax_img.grid(which="minor", color="#b0b0b0", linewidth=0.4)
    ax_img.set_xticks([0.5, 27.5], ["0", "27"])
    ax_img.set_yticks([0.5, 27.5], ["0", "27"])
    ax_img.tick_params(which="both", length=0, labelsize=10)
    ax_img.set_title("image  $28 \\times 28$", fontsize=13)

    ax = fig.add_axes([0.36, 0.0, 0.64, 1.0])
    ax.set_xlim(0, 13)
    ax.set_ylim(0, 8)
    ax.axis("off")
    arrow(ax, (0.2, 4.6), (2.3, 4.6), linewidth=2.5, mutation_scale=24)
    ax.text(1.25, 5.0, "flatten", ha="center", va="bottom", fontsize=13)
    ax.text(1.25, 4.2, "reshape(784)", ha="center", va="top", fontsize=11, family="monospace")

    # Cells of the vector grouped by the image row they come from; None is an ellipsis.
    groups = [(0, [0, 1, None, 27]), (1, [28, 29, None]), (None, [None]),
              (27, [756, None, 783])]
    row_colors = {0: "#1f77b4", 1: "#2ca02c", 27: "#ff7f0e"}
    cell, dots, spacing, x = 0.9, 0.55, 0.25, 2.7
    for row, indices in groups:
        group_start = x
        for index in indices:
            if index is None:
                ax.text(x + dots / 2, 4.6, "$\\cdots$", ha="center", va="center", fontsize=14)
                x += dots
                continue
            ax.add_patch(Rectangle((x, 4.1), cell, 1.0, facecolor=plt.cm.Greys(vector[index]),
                                   edgecolor="black", linewidth=1.0))
            ax.text(x + cell / 2, 3.95, f"$x_{{{index}}}$", ha="center", va="top", fontsize=11)
            x += cell
        if row is not None:
            color = row_colors[row]
            ax.plot([group_start, group_start, x, x], [3.05, 2.9, 2.9, 3.05], color=color,
                    linewidth=1.5)
            ax.text((group_start + x) / 2, 2.75, f"row {row}", ha="center", va="top",
                    fontsize=10, color=color)
            ax_img.add_patch(Rectangle((0.05, row + 0.05), 27.9, 0.9, fill=False,
                                       edgecolor=color, linewidth=1.8))
        x += spacing
    x_end = x - spacing
    ax.text((2.7 + x_end) / 2, 5.45, "vector of length $784 = 28 \\times 28$",
            ha="center", va="bottom", fontsize=13)

    ax_strip = fig.add_axes([0.36 + 0.64 * 2.7 / 13, 0.12, 0.64 * (x_end - 2.7) / 13, 0.07])
    ax_strip.imshow(vector[None, :], cmap="Greys", vmin=0, vmax=1, aspect="auto",
                    interpolation="nearest")
    ax_strip.set_xticks([0, 783], ["0", "783"])
    ax_strip.set_yticks([])
    ax_strip.tick_params(labelsize=9, length=2)
    ax_strip.set_title("all 784 values: row 0, row 1, ..., row 27", fontsize=10, pad=3)
    return save(fig, out_dir, "fig1_flatten.png")


def draw_network(out_dir):
    """图2: the three-layer network 784-300-300-10 (LeakyReLU, LeakyReLU, Softmax)."""
    fig, ax = diagram(10.0, 6.0, (-0.8, 12.2), (-0.9, 6.9))
    columns = [1.0, 4.4, 7.8, 11.0]
    titles = ["input layer", "hidden layer 1", "hidden layer 2", "output layer"]
    sizes = [784, 300, 300, 10]
    outputs = ["$X = A^{[0]}$", "$A^{[1]}$", "$A^{[2]}$", "$A^{[3]} = \\hat{y}$"]
    activations = ["", "LeakyReLU", "LeakyReLU", "Softmax"]
    slots = [5.0, 4.3, 3.6, 1.6, 0.9]  # three neurons, a gap with dots, two neurons
    radius = 0.24

    for left, right in zip(columns[:-1], columns[1:]):
        for y0 in slots:
            for y1 in slots:
                ax.plot([left, right], [y0, y1], color="#9aa5b1", linewidth=0.6, zorder=1)
    for x, title, size, out, act in zip(columns, titles, sizes, outputs, activations):
        for y in slots:
            circle(ax, (x, y), radius, face=VALUE_FACE if x == columns[0] else NODE_FACE)
        ax.text(x, 2.6, "$\\vdots$", ha="center", va="center", fontsize=20)
        ax.text(x, 6.15, title, ha="center", va="bottom", fontsize=12)
        ax.text(x, 5.65, f"{size} units", ha="center", va="bottom", fontsize=11, color="#444444")
        ax.text(x, 0.25, out, ha="center", va="top", fontsize=14)
        if act:
            ax.text(x, -0.4, act, ha="center", va="top", fontsize=11, color="#1f5fa8")

    for layer in (1, 2, 3):
        left, right = columns[layer - 1], columns[layer]
        fan_in, fan_out = sizes[layer - 1], sizes[layer]
        text = (f"$W^{{[{layer}]}}$: {shape(fan_in, fan_out)}\n"
                f"$b^{{[{layer}]}}$: {shape(fan_out)}")
        ax.text((left + right) / 2, 2.6, text, ha="center", va="center", fontsize=11,
                multialignment="left", linespacing=1.5,
                bbox=dict(boxstyle="round,pad=0.3", facecolor="white", edgecolor="#9aa5b1"))
    return save(fig, out_dir, "fig2_network.png", colors=128)


def draw_leaky_relu(out_dir, alpha=0.1):
    """图3: LeakyReLU y = x (x > 0), alpha x (x <= 0) and its derivative."""
    x = np.linspace(-4, 4, 401)
    fig, (ax_f, ax_d) = plt.subplots(1, 2, figsize=(10.0, 4.2))
    ax_f.plot(x, np.where(x > 0, x, alpha * x), color="#1f5fa8", linewidth=2.2)
    ax_f.set_title("LeakyReLU:  $y = x\\ (x > 0),\\quad y = %g\\,x\\ (x \\leq 0)$" % alpha,
                   fontsize=12)
    ax_f.set_ylim(-1.0, 4.2)
    ax_f.set_ylabel("$y$")

    ax_d.plot(x[x > 0], np.ones((x > 0).sum()), color="#d62728", linewidth=2.2)
    ax_d.plot(x[x <= 0], np.full((x <= 0).sum(), alpha), color="#d62728", linewidth=2.2)
    ax_d.plot([0], [alpha], "o", color="#d62728", markersize=7)
    ax_d.plot([0], [1], "o", markerfacecolor="white", markeredgecolor="#d62728", markersize=7)
    ax_d.set_title("derivative:  $\\partial y / \\partial x = 1\\ (x > 0),\\quad %g\\ (x \\leq 0)$"
                   % alpha, fontsize=12)
    ax_d.set_ylim(-0.15, 1.25)
    ax_d.set_yticks([0, alpha, 0.5, 1], ["0", f"{alpha:g}", "0.5", "1"])
    ax_d.set_ylabel("$\\partial y / \\partial x$")
    for ax in (ax_f, ax_d):
        ax.axhline(0, color="#888888", linewidth=0.8)
        ax.axvline(0, color="#888888", linewidth=0.8)
        ax.grid(alpha=0.3)
        ax.set_xlim(-4, 4)
        ax.set_xlabel("$x$")
    fig.tight_layout()
    return save(fig, out_dir, "fig3_leaky_relu.png")


def _matrix(ax, corner, rows, cols, name, face, cell=0.6):
    """A rows x cols grid of cells at lower-left `corner`, `name` above, its shape below.

    Returns the x coordinate of the grid's right side.
    """
    x0, y0 = corner
    for r in range(rows):
        for c in range(cols):
            ax.add_patch(Rectangle((x0 + c * cell, y0 + (rows - 1 - r) * cell), cell, cell,
                                   facecolor=face, edgecolor="black", linewidth=1.2))
    center = x0 + cols * cell / 2
    ax.text(center, y0 + rows * cell + 0.15, name, ha="center", va="bottom", fontsize=16)
    dims = (cols,) if rows == 1 else (rows, cols)
    ax.text(center, y0 - 0.15, shape(*dims), ha="center", va="top", fontsize=13)
    return x0 + cols * cell


def draw_affine_shapes(out_dir):
    """图4: the shapes of X (2,), W (2, 3), B (3,) and Y (3,) in Y = X . W + B."""
    fig, ax = diagram(8.0, 2.1, (0, 12.3), (0.45, 3.65))
    cell, base = 0.6, 1.6
    right = _matrix(ax, (0.5, base), 1, 2, "$X$", VALUE_FACE, cell)
    ax.text(right + 0.45, base + cell / 2, "$\\cdot$", ha="center", va="center", fontsize=26)
    right = _matrix(ax, (right + 0.9, base - cell / 2), 2, 3, "$W$", NODE_FACE, cell)
    ax.text(right + 0.45, base + cell / 2, "$+$", ha="center", va="center", fontsize=20)
    right = _matrix(ax, (right + 0.9, base), 1, 3, "$B$", "#e6f4e6", cell)
    ax.text(right + 0.45, base + cell / 2, "$=$", ha="center", va="center", fontsize=20)
    _matrix(ax, (right + 0.9, base), 1, 3, "$Y$", "#f4e6f0", cell)
    return save(fig, out_dir, "fig4_affine_shapes.png")


def _affine_graph(ax, shapes, backward=None):
    """Computational graph X, W -> dot -> + (with B) -> Y.

    shapes: forward labels of the edges X, W, XW, B, Y.
    backward: None, or backward labels of the same edges.
    """
    y_main, y_low, r = 5.0, 1.2, 0.55
    x_x, x_dot, x_plus, x_y = 1.0, 5.2, 9.6, 13.8
    box(ax, (x_x, y_main), "$X$")
    box(ax, (x_dot, y_low), "$W$")
    box(ax, (x_plus, y_low), "$B$")
    box(ax, (x_y, y_main), "$Y$")
    circle(ax, (x_dot, y_main), r, "dot", fontsize=13)
    circle(ax, (x_plus, y_main), r, "$+$", fontsize=18)
    labels = backward or {}
    segments = {
        "X": ((x_x + 0.55, y_main), (x_dot - r - 0.05, y_main)),
        "W": ((x_dot, y_low + 0.45), (x_dot, y_main - r - 0.05)),
        "XW": ((x_dot + r + 0.05, y_main), (x_plus - r - 0.05, y_main)),
        "B": ((x_plus, y_low + 0.45), (x_plus, y_main - r - 0.05)),
        "Y": ((x_plus + r + 0.05, y_main), (x_y - 0.55, y_main)),
    }
    for key, (start, end) in segments.items():
        edge(ax, start, end, shapes[key], labels.get(key, ""), backward=backward is not None)


def dl(name):
    """mathtext (without $) of the partial derivative dL/d<name>."""
    return "\\dfrac{\\partial L}{\\partial %s}" % name


def draw_affine_graph(out_dir):
    """图5: computational graph of the Affine layer, forward pass, shapes on the edges."""
    fig, ax = diagram(9.0, 3.6, (0, 14.6), (0.6, 6.4))
    _affine_graph(ax, {"X": shape(2), "W": shape(2, 3), "XW": "$X \\cdot W$\n" + shape(3),
                       "B": shape(3), "Y": shape(3)})
    return save(fig, out_dir, "fig5_affine_graph.png")


def _affine_backward_figure(out_dir, name, batch):
    """图6 / 图7: the Affine graph with its backward pass; `batch` is () or ("N",)."""
    fig, ax = diagram(10.5, 5.0, (-0.2, 14.8), (0.45, 7.4))
    dy = dl("Y")
    if batch:
        db = (f"${dl('B')} = \\sum_{{n=1}}^{{N}} \\left({dy}\\right)_n$\n"
              f"sum over axis 0:  {shape(3)}")
    else:
        db = f"${dl('B')} = {dy}$\n{shape(3)}"
    shapes = {"X": shape(*batch, 2), "W": shape(2, 3), "XW": "$X \\cdot W$\n" + shape(*batch, 3),
              "B": shape(3), "Y": shape(*batch, 3)}
    backward = {
        "X": f"${dl('X')} = {dy} \\cdot W^T$\n{shape(*batch, 2)}",
        "W": f"${dl('W')} = X^T \\cdot {dy}$\n{shape(2, 3)}",
        "XW": f"${dy}$\n{shape(*batch, 3)}",
        "B": db,
        "Y": f"${dy}$\n{shape(*batch, 3)}",
    }
    _affine_graph(ax, shapes, backward)
    legend(ax, (0.2, 7.0))
    return save(fig, out_dir, name)


def draw_affine_backward(out_dir):
    """图6: the Affine graph for one vector X (2,) with the backward pass in red."""
    return _affine_backward_figure(out_dir, "fig6_affine_backward.png", ())


def draw_affine_batch(out_dir):
    """图7: the Affine graph for a batch X (N, 2); dL/dB sums dL/dY over the batch axis."""
    return _affine_backward_figure(out_dir, "fig7_affine_batch.png", ("N",))


def softmax(scores):
    """Probabilities of a score vector (numerically stable)."""
    e = np.exp(scores - np.max(scores))
    return e / e.sum()


def draw_softmax(out_dir):
    """图8: softmax turns the scores (0.3, 2.9, 4.0) into probabilities that sum to 1."""
    scores = np.array([0.3, 2.9, 4.0])
    probs = softmax(scores)
    names = ["$x_1$", "$x_2$", "$x_3$"]
    colors = ["#9aa5b1", "#6f9bd1", "#1f5fa8"]
    fig = plt.figure(figsize=(10.0, 3.8))
    ax_s = fig.add_axes([0.05, 0.14, 0.27, 0.7])
    ax_a = fig.add_axes([0.34, 0.14, 0.32, 0.7])
    ax_p = fig.add_axes([0.71, 0.14, 0.27, 0.7])
    for ax, values, title, top, fmt in ((ax_s, scores, "scores $x$", 4.8, "%.1f"),
                                        (ax_p, probs, "probabilities softmax($x$)", 1.0, "%.3f")):
        bars = ax.bar(names, values, color=colors, edgecolor="black", width=0.6)
        ax.bar_label(bars, fmt=fmt, padding=3, fontsize=11)
        ax.set_ylim(0, top)
        ax.set_title(title, fontsize=12)
        ax.spines[["top", "right"]].set_visible(False)
    ax_p.text(2.45, 0.92, "sum = %.3f" % probs.sum(), ha="right", fontsize=11, color="#444444")
    ax_a.set_xlim(0, 1)
    ax_a.set_ylim(0, 1)
    ax_a.axis("off")
    arrow(ax_a, (0.1, 0.5), (0.9, 0.5), linewidth=2.5, mutation_scale=26)
    ax_a.text(0.5, 0.6, "softmax", ha="center", va="bottom", fontsize=14)
    formula = "$\\mathrm{softmax}(x_i) = \\dfrac{e^{x_i}}{e^{x_1} + e^{x_2} + e^{x_3}}$"
    ax_a.text(0.5, 0.38, formula, ha="center", va="top", fontsize=13)
    return save(fig, out_dir, "fig8_softmax.png")


def draw_softmax_with_loss(out_dir):
    """图9: the Softmax-with-Loss layer as a graph, forward in black, backward in red.

    The notation is the text's: a_k the scores, \\hat{y}_k the softmax output, y_k the one-hot
    label (the book this figure follows writes y_k and t_k)."""
    fig, ax = diagram(10.5, 5.0, (-0.4, 14.6), (-1.4, 5.3))
    rows = [4.4, 2.5, 0.6]
    x_a, x_soft, x_ce, x_l = 0.5, 4.6, 9.6, 13.4
    box_w, box_h = 1.7, 5.0
    y_mid = rows[1]
    box(ax, (x_soft, y_mid), "Softmax", width=box_w, height=box_h, face=NODE_FACE, fontsize=13)
    box(ax, (x_ce, y_mid), "Cross\nEntropy\nError", width=box_w, height=box_h, face=NODE_FACE,
        fontsize=13)
    box(ax, (x_l, y_mid), "$L$", width=0.8, height=0.8)
    for k, y in enumerate(rows, start=1):
        ax.text(x_a, y, f"$a_{k}$", ha="center", va="center", fontsize=16)
        edge(ax, (x_a + 0.35, y), (x_soft - box_w / 2, y), "", f"$\\hat{{y}}_{k} - y_{k}$",
             backward=True, fontsize=14)
        edge(ax, (x_soft + box_w / 2, y), (x_ce - box_w / 2, y), f"$\\hat{{y}}_{k}$",
             f"$-\\dfrac{{y_{k}}}{{\\hat{{y}}_{k}}}$", backward=True, fontsize=14)
    edge(ax, (x_ce + box_w / 2, y_mid), (x_l - 0.4, y_mid), "", "$1$", backward=True,
         fontsize=14)
    for k, dx in enumerate([-0.5, 0.0, 0.5], start=1):
        x = x_ce + dx
        ax.text(x, -1.05, f"$y_{k}$", ha="center", va="center", fontsize=15)
        arrow(ax, (x, -0.8), (x, y_mid - box_h / 2))
    legend(ax, (11.5, 4.9))
    return save(fig, out_dir, "fig9_softmax_with_loss.png")


FIGURES = [draw_flatten, draw_network, draw_leaky_relu, draw_affine_shapes,
           draw_affine_graph, draw_affine_backward, draw_affine_batch, draw_softmax,
           draw_softmax_with_loss]


def main(argv=None):
    """Draw every figure into the folder given as the only argument."""
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0] if args else DEFAULT_OUT_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    for draw in FIGURES:
        path = draw(out_dir)
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
