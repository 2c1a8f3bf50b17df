"""Bar charts of published shares (matplotlib, no display): PNG and SVG bytes.

Charts are drawn from published cells only; a suppressed category is drawn as an empty bar
labelled "suppressed" so that a gap is visible rather than silently missing. Output is
deterministic (fixed SVG hash salt, no creation date in the metadata).
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after use("Agg"): no display needed

matplotlib.rcParams["svg.hashsalt"] = "gateway"
BLUE = "#1f5a96"


def bar_chart(
    title: str, labels: list[str], shares: list[float | None], caption: str
) -> dict[str, bytes]:
    """Horizontal bars of percentages (None = suppressed), with a caption under the chart
    stating sources, period, coverage and suppressions. Returns {"png": ..., "svg": ...}."""
    note = _wrap(caption, 120)
    caption_inches = 0.14 * (note.count("\n") + 1) + 0.12
    height = 1.5 + 0.42 * len(labels) + caption_inches
    fig, ax = plt.subplots(figsize=(8.0, height), dpi=110)
    try:
        values = [s if s is not None else 0.0 for s in shares]
        y = list(range(len(labels)))[::-1]
        ax.barh(y, values, color=BLUE)
        for yi, share in zip(y, shares, strict=True):
            text = "undertrykt" if share is None else f"{share:.1f} %".replace(".", ",")
            ax.text((share or 0.0) + 0.8, yi, text, va="center", fontsize=9)
        ax.set_yticks(y, labels)
        ax.set_xlim(0, max(100.0, max(values, default=0) + 12))
        ax.set_xlabel("procent (per cent)")
        ax.set_title(_wrap(title, 70), fontsize=11, loc="left")  # never cut at the edge
        ax.spines[["top", "right"]].set_visible(False)
        fig.text(0.01, 0.01, note, fontsize=7, va="bottom", color="#444")
        fig.tight_layout(rect=(0, caption_inches / height, 1, 1))
        out = {}
        for fmt in ("png", "svg"):
            sink = io.BytesIO()
            fig.savefig(sink, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
            out[fmt] = sink.getvalue()
        return out
    finally:
        plt.close(fig)


def _wrap(text: str, width: int) -> str:
    lines, line = [], ""
    for word in text.split():
        if len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines)
