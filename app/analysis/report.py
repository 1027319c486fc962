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
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from app.analysis.pipeline import SessionAnalysis
from app.palette import ROLE_COLOURS as COLORS
from dsp.concordance import wcc_peak

LABEL_COLORS = ["#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69", "#fccde5"]


def label_colors(labels: list[str]) -> dict[str, str]:
    """A stable colour per marker label (order of first appearance)."""
    return {lab: LABEL_COLORS[i % len(LABEL_COLORS)] for i, lab in enumerate(labels)}


def _png(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _shade_blocks(
    ax: Any, a: SessionAnalysis, t0: float, colors: dict[str, str], text: bool
) -> None:
    for b0, b1, lab in a.intervals:
        ax.axvspan((b0 - t0) / 60, (b1 - t0) / 60, color=colors[lab], alpha=0.25, lw=0)
        if text:
            ax.text(
                (b0 - t0) / 60, 1.0, f" {lab}", transform=ax.get_xaxis_transform(),
                va="bottom", ha="left", fontsize=7, clip_on=False,
            )  # fmt: skip
    if not a.intervals:
        for tm, _lab in a.markers:
            ax.axvline((tm - t0) / 60, color="0.4", lw=0.6, ls=":")


def overview_figure(a: SessionAnalysis) -> Figure:
    """Both people's EDA and HR over the session (minutes), marker blocks shaded."""
    t0 = a.t_start
    labels = list(dict.fromkeys(lab for _, _, lab in a.intervals))
    colors = label_colors(labels)
    fig = Figure(figsize=(10, 5.2))
    axs = fig.subplots(2, 1, sharex=True)
    grid = np.arange(math.floor(a.t_start), a.t_end, 0.5)
    for role, p in a.persons.items():
        if p.has_eda:
            axs[0].plot((grid - t0) / 60, p.eda_on_grid(grid), color=COLORS[role], lw=0.9,
                        label=role)  # fmt: skip
        if p.has_cardiac:
            axs[1].plot((grid - t0) / 60, p.hr_on_grid(grid), color=COLORS[role], lw=0.7,
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
    fig.tight_layout()
    return fig


def concordance_figure(a: SessionAnalysis) -> Figure | None:
    """Rolling CI of EDA and HR with the chance band, and the EDA WCC lead over time."""
    if a.dyad is None:
        return None
    t0 = a.t_start
    labels = list(dict.fromkeys(lab for _, _, lab in a.intervals))
    colors = label_colors(labels)
    fig = Figure(figsize=(10, 6.4))
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
        ax.axhline(0, color="0.3", lw=0.5)
        ax.set_ylabel(f"{name} concordance\n(Marci CI)")
        _shade_blocks(ax, a, t0, colors, text=ax is axs[0])
        ax.grid(alpha=0.3)
        if sig.note:
            ax.text(0.5, 0.5, sig.note, transform=ax.transAxes, ha="center", fontsize=9)
        ax.legend(loc="upper right", fontsize=7)
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
    fig.tight_layout()
    return fig


def _f(v: Any, nd: int = 2, unit: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v)}{unit}"
    if isinstance(v, (float, np.floating)):
        return "–" if not math.isfinite(float(v)) else f"{float(v):.{nd}f}{unit}"
    return html.escape(str(v))


def _table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    th = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _mmss(s: float) -> str:
    if not math.isfinite(s):
        return "–"
    s = max(s, 0.0)
    return (
        f"{int(s // 60)}:{int(round(s % 60)):02d}"
        if round(s % 60) < 60
        else f"{int(s // 60) + 1}:00"
    )


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


def render_report(a: SessionAnalysis, metrics: dict[str, Any]) -> str:
    """The report as one HTML string (plots embedded as base64 PNG)."""
    m = metrics
    e = []
    title = f"Session report – {html.escape(a.path.name)}"
    e.append(f"<h1>{title}</h1>")
    rec = (m.get("recorded_at") or "unknown")[:16].replace("T", " ")
    e.append(
        f'<p class="meta">Recorded {html.escape(str(rec))} · analysed duration {_mmss(a.duration_s)} '
        f"(mm:ss) · people: {', '.join(f'<span class={r}>{r}</span>' for r in a.roles)} · "
        f"{html.escape(m['generator'])}</p>"
    )
    for n in a.notes:
        e.append(f'<div class="note">{html.escape(n)}</div>')
    for w in a.warnings:
        e.append(f'<div class="warn">Warning: {html.escape(w)}</div>')
    # key numbers
    c = m.get("concordance")
    if c:
        rows = []
        for key, name in (("eda", "Skin conductance (EDA)"), ("hr", "Heart rate (HR)")):
            s = c[key]
            if not s.get("available"):
                rows.append([name, "–", "–", "–", "–", "–", html.escape(s.get("note", ""))])
                continue
            rows.append(
                [
                    name,
                    _f(s["marci_ci"], 2),
                    _f(s["surrogate"]["p_value"], 3),
                    _f(s["ksi"], 3),
                    _f(s["susy"]["es"], 2),
                    _f(
                        s["wcc"]["fraction_patient_leads"] * 100
                        if s["wcc"]["fraction_patient_leads"] is not None
                        else None,
                        0,
                        " %",
                    ),
                    html.escape(s["wcc"]["lead"]),
                ]
            )
        e.append("<h2>Concordance (whole session)</h2>")
        e.append(
            _table(
                [
                    "signal",
                    "Marci CI",
                    "p (surrogates)",
                    "KSI",
                    "SUSY effect size",
                    "windows patient leads",
                    "typical lead (WCC)",
                ],
                rows,
            )  # fmt: skip
        )
        e.append(
            '<p class="small">Marci CI &gt; 0: the two people\'s signals mostly rise and fall '
            "together; p = share of circular-shift surrogates (the clinician's signal shifted "
            "in time) with a CI at least as high. Coupling indices describe physiology moving "
            "together, not feelings.</p>"
        )
    # plots
    e.append("<h2>Overview</h2>")
    e.append(f'<img alt="overview" src="data:image/png;base64,{_png(overview_figure(a))}">')
    cf = concordance_figure(a)
    if cf is not None:
        e.append("<h2>Concordance over time</h2>")
        e.append(f'<img alt="concordance" src="data:image/png;base64,{_png(cf)}">')
        e.append(
            '<p class="small">Grey band: the range of rolling CIs expected by chance (5th-95th '
            "percentile of surrogate pairings). Above the band = more concordance than chance. "
            "Bottom: lag of the clear WCC peaks (positive = the clinician follows the patient).</p>"
        )
    # segment tables
    seg = m["segments"]
    if seg["per_label"]:
        e.append("<h2>Blocks by label (talking vs listening)</h2>")
        header = ["label", "blocks", "duration (mm:ss)"]
        if a.dyad is not None:
            header += ["EDA CI", "HR CI", "EDA lead (WCC)"]
        for r in a.roles:
            header += [f"{r} HR (bpm)", f"{r} RMSSD (ms)", f"{r} SCL (µS)", f"{r} SCR/min"]
        rows = []
        for row in seg["per_label"]:
            ec = row.get("eda_concordance") or {}
            hc = row.get("hr_concordance") or {}
            n_blocks = sum(1 for b in seg["per_interval"] if b["label"] == row["label"])
            dur = sum(
                b["t1_rel_s"] - b["t0_rel_s"]
                for b in seg["per_interval"]
                if b["label"] == row["label"]
            )
            cells = [html.escape(row["label"]), str(n_blocks), _mmss(dur)]
            if a.dyad is not None:
                cells += [_f(ec.get("ci")), _f(hc.get("ci")), html.escape(ec.get("lead_text", "–"))]
            for r in a.roles:
                pr = row[r]
                cells += [_f(pr["mean_hr_bpm"], 1), _f(pr["rmssd_ms"], 1), _f(pr["scl_us"], 2),
                          _f(pr["scr_per_min"], 1)]  # fmt: skip
            rows.append(cells)
        e.append(_table(header, rows))
        irows = []
        for b in seg["per_interval"]:
            ec = b.get("eda_concordance") or {}
            cells = [html.escape(b["label"]), _mmss(b["t0_rel_s"]), _mmss(b["t1_rel_s"])]
            if a.dyad is not None:
                cells += [_f(ec.get("ci")), _f((b.get("hr_concordance") or {}).get("ci"))]
            for r in a.roles:
                cells += [_f(b[r]["mean_hr_bpm"], 1), _f(b[r]["scl_us"], 2)]
            irows.append(cells)
        ih = ["label", "from", "to"] + (["EDA CI", "HR CI"] if a.dyad is not None else [])
        for r in a.roles:
            ih += [f"{r} HR", f"{r} SCL"]
        e.append(
            f"<details open><summary>Every block ({len(irows)})</summary>{_table(ih, irows)}</details>"
        )
    elif a.markers:
        e.append('<p class="note">Markers were found but formed no block inside the signals.</p>')
    else:
        e.append('<p class="note">No markers in this file: no talking/listening table.</p>')
    # HRV / EDA table
    e.append("<h2>Heart rate variability and skin conductance (whole session)</h2>")
    items = [
        ("cardiac signal", "cardiac_signal", None, ""),
        ("beats detected", "beats", 0, ""),
        ("IBIs used", "ibis_used", 0, ""),
        ("mean HR (bpm)", "mean_hr_bpm", 1, ""),
        ("SDNN (ms)", "sdnn_ms", 1, ""),
        ("RMSSD (ms)", "rmssd_ms", 1, ""),
        ("ln RMSSD", "ln_rmssd", 2, ""),
        ("pNN50 (%)", "pnn50_pct", 1, ""),
        ("LF (ms²)", "lf_ms2", 0, ""),
        ("HF (ms²)", "hf_ms2", 0, ""),
        ("LF/HF", "lf_hf", 2, ""),
        ("spectrum over (s)", "spectral_duration_s", 0, ""),
        ("coherence ratio (mean of 64 s windows)", "coherence_ratio", 2, ""),
        ("SCL (µS)", "scl_us", 2, ""),
        ("SCR count", "scr_count", 0, ""),
        ("SCR per minute", "scr_per_min", 2, ""),
        ("EDA noise SD (µS)", "eda_noise_us", 4, ""),
        ("SCR threshold (µS; max of floor and k x noise)", "scr_threshold_us", 3, ""),
    ]
    rows = []
    for name, key, nd, _ in items:
        cells = [name]
        for r in a.roles:
            v = m["persons"][r].get(key)
            cells.append(_f(v, nd or 0) if nd is not None else _f(v))
        rows.append(cells)
    for r_name, key in (
        ("baseline ln RMSSD", "ln_rmssd"),
        ("baseline mean HR (bpm)", "mean_hr_bpm"),
    ):
        rows.append([r_name] + [_f(m["persons"][r]["baseline"][key], 2) for r in a.roles])
    rows.append(
        ["baseline from"] + [html.escape(m["persons"][r]["baseline"]["source"]) for r in a.roles]
    )
    e.append(_table(["metric"] + [f"<span class={r}>{r}</span>" for r in a.roles], rows))
    # quality
    e.append("<h2>Signal quality and artifacts</h2>")
    rows = []
    art_keys = list(next(iter(m["persons"].values()))["artifacts"].keys())
    for k in art_keys:
        rows.append([f"IBIs: {k}"] + [str(m["persons"][r]["artifacts"][k]) for r in a.roles])
    rows.append(["cardiac windows judged good"] + [
        _f(100 * q if (q := m["persons"][r]["quality"]["cardiac_good_fraction"]) is not None else None, 0, " %")
        for r in a.roles])  # fmt: skip
    rows.append(["EDA samples valid"] + [
        _f(100 * q if (q := m["persons"][r]["quality"]["eda_valid_fraction"]) is not None else None, 0, " %")
        for r in a.roles])  # fmt: skip
    rows.append(["main cardiac problems"] + [
        html.escape("; ".join(f"{k} ({v})" for k, v in list(m["persons"][r]["quality"]["cardiac_bad_reasons"].items())[:3]) or "none")
        for r in a.roles])  # fmt: skip
    e.append(_table(["item"] + list(a.roles), rows))
    # inputs and parameters
    e.append("<h2>Input streams</h2>")
    rows = [
        [c["role"], c["modality"].upper(), html.escape(c["stream"]), html.escape(c["stream_type"]),
         html.escape(f"{c['channel']} ({c['label']})"), html.escape(c["unit"] or "–"),
         _f(c["srate_used"], 1), str(c["n_samples"]), html.escape(c["why"])]
        for c in m["inputs"]
    ]  # fmt: skip
    e.append(
        _table(
            ["role", "signal", "stream", "type", "channel", "unit", "Hz", "samples", "assigned by"],
            rows,
        )
    )
    if m.get("marker_stream"):
        e.append(
            f'<p class="small">Markers from: {html.escape(m["marker_stream"])} ({len(a.markers)} markers)</p>'
        )
    e.append("<h2>Parameters</h2>")
    prm = list(m["parameters"].items())
    half = (len(prm) + 1) // 2
    rows = []
    for i in range(half):
        left = prm[i]
        right = prm[i + half] if i + half < len(prm) else ("", "")
        rows.append(
            [
                html.escape(left[0]),
                _f(left[1], 3),
                html.escape(right[0]),
                _f(right[1], 3) if right[0] else "",
            ]
        )
    e.append(_table(["parameter", "value", "parameter", "value"], rows, "params"))
    mp = m.get("method_parameters") or {}
    if mp:
        rows = [
            [html.escape(group), html.escape(", ".join(f"{k} = {v}" for k, v in vals.items()))]
            for group, vals in mp.items()
        ]
        e.append(_table(["method", "settings"], rows, "params"))
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


def write_report(a: SessionAnalysis, path: str | Path, metrics: dict[str, Any]) -> Path:
    """Write ``report.html`` for ``a``; ``metrics`` is its :func:`app.analysis.metrics_dict`."""
    p = Path(path)
    p.write_text(render_report(a, metrics), encoding="utf-8")
    return p
