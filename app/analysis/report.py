"""Self-contained HTML session report (one file, PNG plots embedded, no network, printable).

Plots are drawn with matplotlib's Agg canvas (no window system, no pyplot state), so the
report can be produced in worker processes and on headless machines.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.analysis.group import (
    COUPLED_MARK,
    HR_PAIRS_HEADER,
    hr_pairs_rows,
    index_text,
    matrix_cells,
    pairs_rows,
)
from app.analysis.moments import moments_table, moments_thumbnails_html
from app.analysis.pipeline import SessionAnalysis
from app.analysis.tables import (
    Table,
    blocks_table,
    concordance_table,
    contrasts_table,
    heartpy_table,
    hr_synchrony_table,
    inputs_table,
    intervals_table,
    physiology_table,
    quality_table,
)
from app.formatting import fmt_mmss, fmt_value
from dsp.concordance import wcc_peak
from dsp.concordance.dyad import HIGHLIGHT
from dsp.concordance.group import GroupSignal

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LABEL_COLORS = ["#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69", "#fccde5"]


def label_colors(labels: list[str]) -> dict[str, str]:
    """A stable colour per marker label (order of first appearance)."""
    return {lab: LABEL_COLORS[i % len(LABEL_COLORS)] for i, lab in enumerate(labels)}


def new_figure(**kwargs: Any) -> Figure:
    """A matplotlib figure (``Figure(**kwargs)``). matplotlib is imported here, when the
    first figure is drawn, not with the analysis: ``attune analyze`` then imports it while
    its second process is still computing, ~0.4 s less on the single-core start."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _png(fig: Figure) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _shade_blocks(
    ax: Any, a: SessionAnalysis, t0: float, colors: dict[str, str], text: bool
) -> None:
    for b0, b1, lab in a.intervals:
        ax.axvspan((b0 - t0) / 60, (b1 - t0) / 60, color=colors[lab], alpha=0.25, lw=0)
    if text and a.intervals:
        from matplotlib.patches import Patch

        # One key above the axes: a name per block overlaps as soon as blocks are short.
        key = ax.legend(
            handles=[Patch(color=c, alpha=0.25) for c in colors.values()], labels=list(colors),
            loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(colors), fontsize=7,
            frameon=False, borderaxespad=0.2,
        )  # fmt: skip
        ax.add_artist(key)
    if not a.intervals:
        for tm, _lab in a.markers:
            ax.axvline((tm - t0) / 60, color="0.4", lw=0.6, ls=":")


def overview_figure(a: SessionAnalysis) -> Figure:
    """Both people's EDA and HR over the session (minutes), marker blocks shaded."""
    t0 = a.t_start
    labels = list(dict.fromkeys(lab for _, _, lab in a.intervals))
    colors = label_colors(labels)
    fig = new_figure(figsize=(10, 5.2))
    axs = fig.subplots(2, 1, sharex=True)
    grid = np.arange(math.floor(a.t_start), a.t_end, 0.5)
    info = a.people_info
    for role, p in a.persons.items():
        colour = info.colour(role)
        if p.has_eda:
            axs[0].plot((grid - t0) / 60, p.eda_on_grid(grid), color=colour, lw=0.9,
                        label=role)  # fmt: skip
        if p.has_cardiac:
            axs[1].plot((grid - t0) / 60, p.hr_on_grid(grid), color=colour, lw=0.7,
                        label=role)  # fmt: skip
    axs[0].set_ylabel("skin conductance (µS)")
    axs[1].set_ylabel("heart rate (bpm)")
    axs[1].set_xlabel("time since session start (min)")
    for i, ax in enumerate(axs):
        _shade_blocks(ax, a, t0, colors, text=i == 0)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper right", fontsize=8)
    axs[1].set_xlim(0, max((a.t_end - t0) / 60, 1e-3))
    # fixed margins instead of tight_layout (which measures every text twice, ~0.1 s a
    # figure): room for two-digit / three-digit tick labels and the axis titles
    fig.subplots_adjust(left=0.075, right=0.985, bottom=0.105, top=0.955, hspace=0.1)
    return fig


def concordance_figure(a: SessionAnalysis) -> Figure | None:
    """Rolling CI of EDA and HR with the chance band, and the EDA WCC lead over time."""
    if a.dyad is None:
        return None
    t0 = a.t_start
    labels = list(dict.fromkeys(lab for _, _, lab in a.intervals))
    colors = label_colors(labels)
    fig = new_figure(figsize=(10, 6.4))
    axs = fig.subplots(3, 1, sharex=True)
    for ax, sig, name in ((axs[0], a.dyad.eda, "EDA"), (axs[1], a.dyad.hr, "HR")):
        tl = sig.timeline
        tm = (tl.t - t0) / 60
        if math.isfinite(tl.chance_lo):
            ax.axhspan(tl.chance_lo, tl.chance_hi, color="0.6", alpha=0.35, lw=0,
                       label=f"chance band ({a.config.chance_lo_pct:g}-{a.config.chance_hi_pct:g} % of surrogates)")  # fmt: skip
        ax.plot(
            tm,
            tl.ci_rolling,
            color="#333333",
            lw=0.9,
            label=f"{name} rolling CI (last {a.config.rolling_n} s)",
        )
        if tl.highlight is not None and tl.highlight.any():
            # a strip along the top, not a colour on the line: the statement is about the
            # last 10 minutes' synchrony, not about this minute's CI
            ax.fill_between(
                tm, 0.93, 1.0, where=tl.highlight, transform=ax.get_xaxis_transform(),
                color="#1a9850", lw=0, step="post", label="above chance (console's test and rule)",
            )  # fmt: skip
        ax.axhline(0, color="0.3", lw=0.5)
        ax.set_ylabel(f"{name} concordance\n(Marci CI)")
        _shade_blocks(ax, a, t0, colors, text=ax is axs[0])
        ax.grid(alpha=0.3)
        if sig.note:
            ax.text(0.5, 0.5, sig.note, transform=ax.transAxes, ha="center", fontsize=9)
        ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.92), fontsize=7)  # below the strip
    sc = a.dyad.eda.session
    if sc is not None:
        w = sc.wcc
        peaks = [wcc_peak(row, w.lags_s) for row in w.matrix]
        # one point per WCC window, at the middle of the data it covers
        mid = a.dyad.t_grid[0] + w.window_start_s + (w.win_s + w.lag_s + a.config.slope_s) / 2
        ok = np.array([c for _, _, c in peaks], dtype=bool)
        lag = np.array([lg for _, lg, _ in peaks])
        axs[2].scatter(((mid - t0) / 60)[ok], lag[ok], s=6, color="#333333")
    axs[2].axhline(0, color="0.3", lw=0.5)
    lim = a.config.wcc_lag_s
    axs[2].set_ylim(-lim - 0.5, lim + 0.5)
    axs[2].text(0.005, 0.97, "patient leads ↑", transform=axs[2].transAxes, va="top", fontsize=8)
    axs[2].text(0.005, 0.03, "clinician leads ↓", transform=axs[2].transAxes, fontsize=8)
    axs[2].set_ylabel("EDA lead (s)\n(clear WCC peaks)")
    axs[2].set_xlabel("time since session start (min)")
    _shade_blocks(axs[2], a, t0, colors, text=False)
    axs[2].grid(alpha=0.3)
    axs[2].set_xlim(0, max((a.t_end - t0) / 60, 1e-3))
    fig.subplots_adjust(left=0.1, right=0.985, bottom=0.085, top=0.96, hspace=0.12)
    return fig


CSS = """
body{font-family:Helvetica,Arial,sans-serif;font-size:13px;color:#222;max-width:1100px;margin:1em auto;padding:0 1em}
h1{font-size:20px;margin-bottom:0}h2{font-size:16px;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
.params td:nth-child(2){text-align:left;font-size:11px}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.4em .8em;margin:.4em 0}
.warn{background:#fdecea;border-left:4px solid #d33;padding:.4em .8em;margin:.4em 0}
.meta{color:#555}.small{font-size:11px;color:#555}img{max-width:100%}
.patient{color:#1f6fb4;font-weight:bold}.clinician{color:#d95f02;font-weight:bold}
@media print{body{max-width:none;margin:0}h2{page-break-after:avoid}table,img,figure{page-break-inside:avoid}
details{display:block}details>summary{display:none}}
"""


def matrix_figure(a: SessionAnalysis) -> Figure | None:
    """The pair matrix: colour = session CI (strength, colour-blind-safe diverging map),
    ``●`` = coupled after Holm (evidence), ``–`` = not tested."""
    if a.group is None:
        return None
    gc = a.group.eda
    names = list(gc.people)
    ci = gc.matrix("ci")
    lim = max(0.2, float(np.nanmax(np.abs(ci))) if np.isfinite(ci).any() else 0.2)
    n = len(names)
    fig = new_figure(figsize=(1.2 + 0.75 * n, 0.9 + 0.65 * n))
    ax = fig.subplots()
    im = ax.imshow(np.ma.masked_invalid(ci), cmap="PuOr_r", vmin=-lim, vmax=lim)
    for i, j in ((i, j) for i in range(n) for j in range(n) if i != j):
        pc = gc.pair(names[i], names[j])
        text = "–" if not np.isfinite(ci[i, j]) else f"{ci[i, j]:.2f}"
        if pc.coupled:
            text += f"\n{COUPLED_MARK}"
        ax.text(j, i, text, ha="center", va="center", fontsize=8,
                color="white" if abs(ci[i, j]) > 0.6 * lim else "black")  # fmt: skip
    ax.set_xticks(range(n), names, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
    for t, name in zip((*ax.get_xticklabels(), *ax.get_yticklabels()), names * 2, strict=True):
        t.set_color(a.people_info.colour(name))
    fig.colorbar(im, ax=ax, label="session CI (EDA)", shrink=0.8)
    fig.tight_layout()
    return fig


def _group_section(a: SessionAnalysis) -> list[str]:
    """The pair matrix, the pairs that matter and the group index (groups only)."""
    if a.group is None:
        return []
    g = a.group
    n = len(g.eda.pairs)
    e = [f"<h2>Who moves with whom: {len(g.eda.people)} people, {n} pairs (EDA)</h2>"]
    fig = matrix_figure(a)
    if fig is not None:
        e.append(f'<img alt="pair matrix" src="data:image/png;base64,{_png(fig)}">')
    head, rows = matrix_cells(g)
    e.append(table_html(Table("matrix", "", head, rows)))
    e.append(
        f'<p class="small">Colour and number: the session concordance index (Marci CI of the '
        f"EDA slopes) of each pair, a strength. {COUPLED_MARK}: the pair moves together above "
        f"chance after Holm's correction for {n} pairs (its coupling test against circular "
        f"shifts and its CI test both below {g.eda.alpha:g}); no mark: not shown to be above "
        "chance. –: not tested (no common data).</p>"
    )
    e += _section(
        Table(
            "pairs", "The pairs that matter" + (" (declared)" if g.people.declared else ""),
            ("pair", "CI", "p (Holm)", "coupled", "lead", "label contrasts (shared SCRs)"),
            pairs_rows(g),
            "Lead is named only for a coupled pair whose lead test passes. p (Holm): the "
            "larger of the Holm-adjusted coupling p and the pair's own CI test p.",
        )
    )  # fmt: skip
    e += _section(
        Table(
            "group", "Group index",
            ("index", "value and test"),
            (("mean pairwise CI", index_text(g.eda.mean_ci)),
             ("Kuramoto order parameter (for comparison)", index_text(g.eda.kuramoto))),
            "Null: surrogate groups in which every member's EDA is circularly shifted on their "
            "own (shifts apart by at least the minimum shift), so no pair keeps its alignment.",
        )
    )  # fmt: skip
    return e + _hr_group_section(a)


def _hr_group_section(a: SessionAnalysis) -> list[str]:
    """The HR pair matrix and the HR of the pairs that matter (groups with HR only)."""
    g = a.group
    if g is None or g.hr is None:
        return []
    n = len(g.hr.pairs)
    e = [f"<h2>Who moves with whom: heart rate, {len(g.hr.people)} people, {n} pairs</h2>"]
    head, rows = matrix_cells(g, GroupSignal.HR)
    e.append(table_html(Table("hr matrix", "", head, rows)))
    e.append(
        f'<p class="small">Number: the concordance index (Marci CI) of the two heart rates\' '
        f"1-s slopes at the pair's best lag within \u00b15 s, minus its chance median (the "
        f"same best lag of the time-shifted pairings: a best lag is above zero even by chance), "
        f"a strength; the CI itself and its chance median are in the table below. {COUPLED_MARK}: the "
        f"heart rates move together above chance: Holm's correction for {n} pairs applied to "
        f"the larger of each pair's two p (the HR coupling test against circular shifts, the "
        f"best-lag CI against the same maximum around every circular shift) gives below "
        f"{g.hr.alpha:g}. –: not tested.</p>"
    )
    e += _section(
        Table(
            "hr pairs", "Heart rate of the pairs that matter", HR_PAIRS_HEADER, hr_pairs_rows(g),
            "Lead is named only for a coupled pair whose lead test passes (positive: the "
            "second person follows). p (Holm): Holm over the pairs of the larger of the HR "
            "coupling p and the best-lag CI test p.",
        )
    )  # fmt: skip
    return e


def table_html(t: Table, cls: str = "") -> str:
    """A :class:`~app.analysis.tables.Table` as an HTML table (every cell escaped)."""
    th = "".join(f"<th>{html.escape(h)}</th>" for h in t.header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in t.rows
    )
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _section(t: Table | None) -> list[str]:
    if t is None:
        return []
    out = [f"<h2>{html.escape(t.title)}</h2>", table_html(t)]
    if t.note:
        out.append(f'<p class="small">{html.escape(t.note)}</p>')
    return out


def _parameters(m: dict[str, Any]) -> list[str]:
    """The parameter tables (from ``metrics.json``'s flat parameter lists)."""
    prm = list(m["parameters"].items())
    half = (len(prm) + 1) // 2
    rows = []
    for i in range(half):
        left = prm[i]
        right = prm[i + half] if i + half < len(prm) else ("", "")
        rows.append(
            (left[0], fmt_value(left[1], 3), right[0], fmt_value(right[1], 3) if right[0] else "")
        )
    out = ["<h2>Parameters</h2>",
           table_html(Table("parameters", "Parameters", ("parameter", "value", "parameter", "value"),
                            tuple(rows)), "params")]  # fmt: skip
    mp = m.get("method_parameters") or {}
    if mp:
        rows = [(g, ", ".join(f"{k} = {v}" for k, v in vals.items())) for g, vals in mp.items()]
        out.append(table_html(Table("method", "", ("method", "settings"), tuple(rows)), "params"))
    return out


def render_report(a: SessionAnalysis, metrics: dict[str, Any], thumbnails: bool = False) -> str:
    """The report as one HTML string (plots embedded as base64 PNG).

    The tables are :func:`app.analysis.tables.session_tables` (the review window shows the
    same ones); ``metrics`` supplies only the generator name and the parameter lists.
    """
    title = f"Session report – {html.escape(a.path.name)}"
    rec = (a.recorded_at or "unknown")[:16].replace("T", " ")
    info = a.people_info
    people = ", ".join(
        f"<span class={r}>{r}</span>"
        if r in ("patient", "clinician")
        else f'<span style="color:{info.colour(r)};font-weight:bold">{html.escape(r)}</span>'
        for r in a.roles
    )
    e = [
        f"<h1>{title}</h1>",
        f'<p class="meta">Recorded {html.escape(rec)} · analysed duration {fmt_mmss(a.duration_s)} '
        f"(m:ss) · people: {people} · {html.escape(metrics['generator'])}</p>",
    ]
    e += [f'<div class="note">{html.escape(n)}</div>' for n in a.notes]
    e += [f'<div class="warn">Warning: {html.escape(w)}</div>' for w in a.warnings]
    e += _group_section(a)
    e += _section(concordance_table(a))
    e += _section(contrasts_table(a))
    e += _section(hr_synchrony_table(a))
    e.append("<h2>Overview</h2>")
    e.append(f'<img alt="overview" src="data:image/png;base64,{_png(overview_figure(a))}">')
    cf = concordance_figure(a)
    if cf is not None:
        e.append("<h2>Concordance over time</h2>")
        e.append(f'<img alt="concordance" src="data:image/png;base64,{_png(cf)}">')
        e.append(
            '<p class="small">Grey band: the range of rolling CIs expected by chance (5th-95th '
            "percentile of surrogate pairings). Green strip: where the console would have "
            'said "above chance", its test replayed at the same 10 s checks ('
            + html.escape(HIGHLIGHT.explain())
            + ") Bottom: lag of each window's clear WCC peak, a description of single windows; "
            "the tested lead is in the table above (positive = the clinician follows).</p>"
        )
    blocks = blocks_table(a)
    if blocks is not None:
        e += _section(blocks)
        iv = intervals_table(a)
        if iv is not None:
            e.append(
                f"<details open><summary>{html.escape(iv.title)}</summary>{table_html(iv)}</details>"
            )
    elif a.markers:
        e.append('<p class="note">Markers were found but formed no block inside the signals.</p>')
    else:
        e.append('<p class="note">No markers in this file: no talking/listening table.</p>')
    e += _section(moments_table(a))  # the session's moments (video review)
    if thumbnails:  # pictures of faces only when asked for (--thumbnails)
        e += moments_thumbnails_html(a)
    for t in (physiology_table(a), heartpy_table(a), quality_table(a), inputs_table(a)):
        e += _section(t)
    if a.marker_stream:
        e.append(
            f'<p class="small">Markers from: {html.escape(a.marker_stream)} ({len(a.markers)} markers)</p>'
        )
    e += _parameters(metrics)
    e.append(
        '<p class="small">Beats: causal Elgendi detector (PPG) / QRS detector (ECG); IBI '
        "correction Lipponen &amp; Tarvainen 2019; spectral HRV Welch on 4 Hz resampled IBIs "
        "with smoothness-priors detrending; EDA quality Kleckner 2018; concordance Marci 2007 "
        "slope concordance, WCC as rMEA, SUSY as Tschacher &amp; Meier 2020.</p>"
    )
    body = "\n".join(e)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{CSS}</style></head><body>{body}</body></html>\n"
    )


def write_report(
    a: SessionAnalysis, path: str | Path, metrics: dict[str, Any], thumbnails: bool = False
) -> Path:
    """Write ``report.html`` for ``a``; ``metrics`` is its :func:`app.analysis.metrics_dict`."""
    p = Path(path)
    p.write_text(render_report(a, metrics, thumbnails), encoding="utf-8")
    return p
