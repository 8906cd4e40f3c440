"""Pictures a check attaches to its verdict, for the feedback page: a training curve or a
confusion matrix explains a failure better than a number in a sentence.

A check calls `attach` (or one of the plots below) while it runs; `run_check` takes what
was attached when the check ends, pass or fail, into the outcome as PNG in base64, so the
pictures travel with the verdict as plain JSON. Caps on count and size keep one check from
bloating every report. Figures are built with `matplotlib.figure.Figure`, not pyplot: no
backend or global figure list is touched, so there is nothing to close. matplotlib is
imported by the checks that draw, when they draw: every other grading starts as fast.
"""
from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_FIGURES_PER_CHECK = 3
MAX_PNG_BYTES = 200_000  # about 4 times a small line plot at FIGURE_DPI
MAX_TITLE_CHARS = 120
FIGURE_SIZE_IN = (6.0, 3.6)
FIGURE_DPI = 80

_attached: list[dict] = []


def attach(title: str, fig: Figure) -> None:
    """Keep `fig` as a PNG for the running check's verdict; past the caps it is dropped
    (the verdict's message still says what went wrong)."""
    if len(_attached) >= MAX_FIGURES_PER_CHECK:
        return
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=FIGURE_DPI, bbox_inches="tight")
    png = buffer.getvalue()
    if len(png) <= MAX_PNG_BYTES:
        _attached.append({"title": title[:MAX_TITLE_CHARS],
                          "png_base64": base64.b64encode(png).decode("ascii")})


def take() -> list[dict]:
    """What was attached since the last call, and forget it (for the next check). Checked
    again here: student code runs in this process and could append to the list itself."""
    taken = [f for f in _attached if _well_formed(f)][:MAX_FIGURES_PER_CHECK]
    _attached.clear()
    return taken


def _well_formed(figure: object) -> bool:
    return (isinstance(figure, dict) and set(figure) == {"title", "png_base64"}
            and isinstance(figure["title"], str) and len(figure["title"]) <= MAX_TITLE_CHARS
            and isinstance(figure["png_base64"], str)
            and len(figure["png_base64"]) <= MAX_PNG_BYTES * 4 // 3 + 4)


def new_figure(panels: int = 1) -> tuple[Figure, list]:
    """A figure of `panels` plots stacked (narrow, for a phone), and their axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(FIGURE_SIZE_IN[0], FIGURE_SIZE_IN[1] * panels), layout="constrained")
    return fig, list(fig.subplots(panels, 1, squeeze=False)[:, 0])


def line_plot(ax, xs: Sequence[float], series: dict[str, Sequence[float]], *, xlabel: str,
              ylabel: str, reference: tuple[str, float] | None = None) -> None:
    """One line per named series over `xs`, and a dashed horizontal `reference` line."""
    from matplotlib.ticker import MaxNLocator

    for name, ys in series.items():
        ax.plot(xs[:len(ys)], ys, marker="o" if len(ys) <= 20 else None, label=name)
    if reference is not None:
        ax.axhline(reference[1], linestyle="--", color="grey", label=reference[0])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps and epochs are counts
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def attach_confusion_matrix(title: str, matrix: Sequence[Sequence[int]],
                            labels: Sequence[str]) -> None:
    """Rows are the true labels, columns the predicted ones, each cell a count."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0, 4.4), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ticks = range(len(labels))
    ax.set_xticks(ticks, labels, rotation=90, fontsize="small")
    ax.set_yticks(ticks, labels, fontsize="small")
    ax.set_xlabel("predicted language")
    ax.set_ylabel("true language")
    attach(title, fig)
