"""The study answer on the batch page: per index, real dyads against pseudo-dyads in words,
numbers and two plots (matplotlib Agg, embedded PNG; no window system).

* the distribution of the pseudo-dyads' values with every real dyad marked;
* a forest plot: per session, the middle 95 % of its own pseudo-dyads (its patient with every
  other clinician, every other patient with its clinician) as a bar and the real dyad as a
  dot, and the study-level difference with its 95 % interval at the bottom.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from app.analysis.report import _png, new_figure
from app.formatting import fmt_value
from app.palette import ROLE_COLOURS
from dsp.concordance.study import StudyComparison

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["INDEX_TITLES", "answer_section"]

#: Plain titles of the pseudo-dyad statistics (:data:`dsp.concordance.pseudo.STATISTICS`).
INDEX_TITLES = {
    "eda_ci": ("EDA concordance index (Marci CI)", "EDA CI"),
    "hr_ci": ("HR concordance index (Marci CI, 1 s slopes)", "HR CI"),
    "eda_lead_asymmetry": (
        "EDA lead asymmetry (mean Fisher z at patient-leads lags minus clinician-leads lags)",
        "lead asymmetry",
    ),
    "eda_contrast": (
        "EDA label contrast (shared SCRs above chance, first label minus second)",
        "label contrast",
    ),
}


def answer_words(c: StudyComparison, short: str) -> str:
    """One sentence: the study-level answer with its evidence."""
    if not math.isfinite(c.difference):
        return f"{short}: not enough data for a test."
    ci = (
        f"95 % interval {fmt_value(c.ci_low, 3)} to {fmt_value(c.ci_high, 3)}"
        if math.isfinite(c.ci_low)
        else "no interval (fewer than 3 sessions)"
    )
    head = (
        f"real dyads {fmt_value(c.mean_real, 3)} (n = {c.n_real}), pseudo-dyads "
        f"{fmt_value(c.mean_pseudo, 3)} (n = {c.n_pseudo}); difference "
        f"{fmt_value(c.difference, 3)}, {ci}"
    )
    if not math.isfinite(c.p):
        return f"{short}: {head}; too few sessions for a permutation test."
    side = "two-sided" if c.two_sided else "one-sided"
    if c.p < 0.05:
        word = "higher" if c.difference > 0 else "lower"
        verdict = f"real dyads {word} than pseudo-dyads"
    else:
        verdict = "no evidence that real dyads differ from pseudo-dyads"
    return f"{short}: {verdict} (permutation p = {c.p:.3g}, {side}, over sessions); {head}."


def _figure(values: np.ndarray, names: Sequence[str], c: StudyComparison, short: str) -> Figure:
    n = values.shape[0]
    eye = np.eye(n, dtype=bool)
    real = np.diag(values)
    pseudo = values[~eye]
    pseudo = pseudo[np.isfinite(pseudo)]
    fig = new_figure(figsize=(10, max(3.2, 1.2 + 0.22 * n)))
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.2]})
    if pseudo.size:
        ax1.hist(pseudo, bins=min(40, max(8, pseudo.size // 8)), color="0.75",
                 label=f"pseudo-dyads (n = {pseudo.size})")  # fmt: skip
    for k, v in enumerate(real[np.isfinite(real)]):
        ax1.axvline(v, color=ROLE_COLOURS["patient"], lw=1.0, alpha=0.8,
                    label="real dyads" if k == 0 else None)  # fmt: skip
    if math.isfinite(c.mean_pseudo):
        ax1.axvline(c.mean_pseudo, color="k", ls="--", lw=1.2, label="pseudo mean")
    if math.isfinite(c.mean_real):
        ax1.axvline(c.mean_real, color=ROLE_COLOURS["clinician"], lw=2.0, label="real mean")
    ax1.set_xlabel(short)
    ax1.set_ylabel("pseudo-dyads")
    if not (pseudo.size or np.isfinite(real).any()):
        ax1.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax1.transAxes)
    else:
        ax1.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.18), ncol=2, frameon=False)
    y = np.arange(n)[::-1] + 1
    for i in range(n):
        own = np.r_[np.delete(values[i], i), np.delete(values[:, i], i)]
        own = own[np.isfinite(own)]
        if own.size >= 2:
            lo, hi = np.percentile(own, [2.5, 97.5])
            ax2.plot([lo, hi], [y[i], y[i]], color="0.6", lw=3, solid_capstyle="butt")
            ax2.plot([np.median(own)], [y[i]], "|", color="0.3", ms=8)
        if np.isfinite(real[i]):
            ax2.plot([real[i]], [y[i]], "o", color=ROLE_COLOURS["patient"], ms=5)
    if math.isfinite(c.ci_low):
        # the study's difference, drawn around the pseudo mean so it shares the axis
        base = c.mean_pseudo
        ax2.plot([base + c.ci_low, base + c.ci_high], [0, 0], color=ROLE_COLOURS["clinician"],
                 lw=3)  # fmt: skip
        ax2.plot([c.mean_real], [0], "D", color=ROLE_COLOURS["clinician"], ms=6)
    if math.isfinite(c.mean_pseudo):
        ax2.axvline(c.mean_pseudo, color="k", ls="--", lw=0.8)
    ax2.set_yticks(np.r_[y, 0])
    ax2.set_yticklabels([*[str(s)[:22] for s in names], "study: real mean (95 % CI)"], fontsize=7)
    ax2.set_ylim(-0.8, n + 0.8)
    ax2.set_xlabel(f"{short}: real dyad (dot), its pseudo-dyads (bar: middle 95 %)", fontsize=8)
    fig.tight_layout()
    return fig


def answer_section(name: str, values: np.ndarray, names: Sequence[str], c: StudyComparison) -> str:
    """HTML of one index: heading, the answer in words and the two plots."""
    title, short = INDEX_TITLES.get(name, (name, name))
    fig = _figure(values, names, c, short)
    return (
        f'<section class="answer"><h2>{html.escape(title)}</h2>'
        f"<p>{html.escape(answer_words(c, short))}</p>"
        f'<img alt="{html.escape(short)}: pseudo-dyads and real dyads" '
        f'src="data:image/png;base64,{_png(fig)}"></section>'
    )
