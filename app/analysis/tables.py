"""The tables a person reads about one analysed session, as plain text cells (no Qt, no HTML).

One view model for the review window (:mod:`app.review.window`, QTableWidget) and the HTML
report (:mod:`app.analysis.report`): both render these :class:`Table` objects, so a number has
one label, one unit and one format (:mod:`app.formatting`, one missing-value glyph)
wherever it is shown. Every cell comes from the typed :class:`SessionAnalysis`, not from the
JSON-shaped ``metrics.json`` dict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.analysis.pipeline import SessionAnalysis
from app.analysis.statements import SUSY_NAME
from app.formatting import MISSING, fmt_mmss, fmt_value
from dsp.concordance.dyad import HIGHLIGHT, DyadSignal
from dsp.concordance.evidence import NOT_ENOUGH_DATA
from dsp.params import MethodParams
from dsp.session import PersonInterval

CORRECTED = ("ectopic", "missed", "extra", "longshort")
EXCLUDED = ("bad signal quality", "out of range")


@dataclass(frozen=True)
class Table:
    """A titled table of text cells.

    Attributes
    ----------
    key : str
        Stable name (``"concordance"``, ``"blocks"``, ...).
    title : str
        Heading for a person.
    header : tuple of str
        Column names.
    rows : tuple of tuple of str
        Cells, already formatted (missing values are :data:`app.formatting.MISSING`).
    note : str
        How to read it (one or two sentences; '' for none).
    """

    key: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""

    def transposed(self) -> Table:
        """The same cells with rows and columns swapped (for a narrow side panel)."""
        cols = [self.header, *self.rows]
        return Table(
            self.key,
            self.title,
            tuple(c[0] for c in cols),
            tuple(tuple(c[j] for c in cols) for j in range(1, len(self.header))),
            self.note,
        )


def _pct(v: float) -> str:
    return fmt_value(100.0 * v, 0, " %")


def _susy_cell(sig: DyadSignal) -> str:
    t = sig.susy_test
    if sig.susy is None:
        return MISSING
    es = fmt_value(sig.susy.es, 2)
    if t is None or t.null.size == 0:
        return f"{es} ({NOT_ENOUGH_DATA})"
    return f"{es} ({fmt_value(t.percentile, 0)}th percentile of chance)"


def _highlight_cell(sig: DyadSignal) -> str:
    hl = sig.timeline.highlight
    if hl is None or not np.isfinite(sig.timeline.percentile).any():
        return NOT_ENOUGH_DATA
    n = int(np.sum(hl))
    return f"yes, {fmt_mmss(n)} (m:ss) in total" if n else "never"


def concordance_table(a: SessionAnalysis) -> Table | None:
    """Whole-session concordance of EDA and HR, each number beside its test (None for one
    person)."""
    if a.dyad is None:
        return None
    rows = []
    for sig, name in ((a.dyad.eda, "Skin conductance (EDA)"), (a.dyad.hr, "Heart rate (HR)")):
        sc = sig.session
        if sc is None:
            rows.append((name,) + (MISSING,) * 5 + (sig.note or MISSING,))
            continue
        rows.append(
            (
                name,
                fmt_value(sc.ci, 2),
                fmt_value(sc.surrogate.p_value, 3),
                fmt_value(sc.ksi, 3),
                _susy_cell(sig),
                _highlight_cell(sig),
                sig.lead.text,
            )
        )
    return Table(
        "concordance",
        "Concordance (whole session)",
        (
            "signal",
            "Marci CI",
            "p (surrogates)",
            "KSI",
            SUSY_NAME,
            "above chance in the console (rule below)",
            "lead (tested)",
        ),  # fmt: skip
        tuple(rows),
        "Marci CI > 0: the two people's signals mostly rise and fall together; p = share of "
        "circular-shift surrogates (the clinician's signal shifted in time by at least 60 s) "
        "with a CI at least as high. A lead is named only when who-follows-whom beats the same "
        "surrogates (p < 0.05), with the lag's spread (IQR) over windows. "
        + HIGHLIGHT.explain()
        + " Coupling indices describe physiology moving together, not feelings.",
    )


def _contrast_value(value: float, chance: float, ci: float) -> str:
    """``0.55 (0.71 seen, 0.16 by chance; Marci CI 0.76)``; lagged synchrony: ``0.12 (Marci CI
    0.40)``."""
    if not np.isfinite(chance):
        return f"{fmt_value(value, 2)} (Marci CI {fmt_value(ci, 2)})"
    seen, by_chance, marci = (fmt_value(v, 2) for v in (value + chance, chance, ci))
    return f"{fmt_value(value, 2)} ({seen} seen, {by_chance} by chance; Marci CI {marci})"


def contrasts_table(a: SessionAnalysis) -> Table | None:
    """Label contrasts (e.g. listening vs talking) with interval and p (None without any)."""
    if a.dyad is None:
        return None
    rows = []
    for sig, name in ((a.dyad.eda, "EDA"), (a.dyad.hr, "HR")):
        for c in sig.contrasts:
            tested = c.status.value == "tested"
            rows.append(
                (
                    name,
                    f"{c.label_a} vs {c.label_b}",
                    c.measure.value,
                    _contrast_value(c.value_a, c.chance_a, c.ci_a),
                    _contrast_value(c.value_b, c.chance_b, c.ci_b),
                    fmt_value(c.difference, 2),
                    f"{fmt_value(c.low, 2)} to {fmt_value(c.high, 2)}" if tested else MISSING,
                    fmt_value(c.p, 3) if tested else MISSING,
                    c.text,
                )
            )
    if not rows:
        return None
    return Table(
        "contrasts",
        "Label contrasts (tested)",
        (
            "signal",
            "labels",
            "compared",
            "first label",
            "second label",
            "difference",
            "95 % interval",
            "p",
            "in words",
        ),
        tuple(rows),
        "EDA compares shared SCRs above chance: the share of skin-conductance responses that "
        f"have a partner in the other person at the dyad's own lag (±{MethodParams().scr_match_s:g} s; "
        "0 none, 1 all) "
        "minus the share expected by chance from each block's own SCRs (more arousal, more "
        "chance coincidences), averaged over the label's blocks; "
        "the lag is the peak within ±5 s of both labels together, so a clinician following a "
        "few seconds behind counts. HR compares lagged synchrony r (the windowed "
        "cross-correlation of the two people's slopes at that lag). Each label's pooled Marci "
        "CI is shown beside it as a description. p from permuting the labels between whole "
        "blocks (each block keeps its data and time structure); the interval inverts the same "
        "test, so it excludes 0 exactly when p < 0.05. "
        "With too few blocks no test is possible and none is made up.",
    )


def hr_synchrony_table(a: SessionAnalysis) -> Table | None:
    """HR coherence against its chance level and the shared-breathing check."""
    if a.dyad is None or a.dyad.hr.session is None:
        return None
    h = a.dyad.hr
    rows = []
    c = h.coherence
    for band in ("lf", "hf"):
        if c is None or not np.isfinite(getattr(c.coherence, band)):
            rows.append((f"coherence {band.upper()}",) + (MISSING,) * 3 + (NOT_ENOUGH_DATA,))
            continue
        if not np.isfinite(getattr(c, f"{band}_percentile")):  # measured, but no test possible
            obs = fmt_value(getattr(c.coherence, band), 2)
            rows.append((f"coherence {band.upper()}", obs, MISSING, MISSING, NOT_ENOUGH_DATA))
            continue
        rows.append(
            (
                f"coherence {band.upper()}",
                fmt_value(getattr(c.coherence, band), 2),
                fmt_value(getattr(c, f"{band}_chance"), 2),
                fmt_value(getattr(c, f"{band}_excess"), 2),
                f"{fmt_value(getattr(c, f'{band}_percentile'), 0)}th percentile of chance "
                f"(p = {fmt_value(getattr(c, f'{band}_p'), 3)})",
            )
        )
    bp, bc = h.breathing_patient_hz, h.breathing_clinician_hz
    rows.append(
        (
            "breathing (per min)",
            f"patient {fmt_value(60 * bp, 1)}",
            f"clinician {fmt_value(60 * bc, 1)}",
            MISSING,
            h.breathing_note or "breathing rates differ or unclear",
        )
    )
    return Table(
        "hr_synchrony",
        "Heart-rate synchrony: coherence and breathing",
        ("item", "observed", "chance", "bias-corrected", "against chance"),
        tuple(rows),
        "Magnitude-squared coherence of the two HR series is high even for unrelated people "
        "(shared rhythms, few segments). It is averaged over consecutive 5-minute windows; "
        "chance = the same average with each window's patient heart rate paired with the "
        "clinician's from other times of the session (at least 60 s away, never wrapped "
        "around). Sessions under about 8 minutes get no test. When both breathe at the same "
        "rate, HR synchrony may reflect breathing.",
    )


def _signal_ci(sig: DyadSignal, label: str | None, index: int | None) -> tuple[str, str]:
    """(CI, lead words) of a label or one block; missing when the signal has no segments."""
    if sig.segments is None:
        return MISSING, MISSING
    s = sig.segments.by_label(label) if label is not None else sig.segments.intervals[index]
    return fmt_value(s.ci, 2), s.lead_text or MISSING


def _person_cells(pi: PersonInterval) -> tuple[str, ...]:
    return (
        fmt_value(pi.mean_hr_bpm, 1),
        fmt_value(pi.rmssd_ms, 1),
        fmt_value(pi.scl_us, 2),
        fmt_value(pi.scr_per_min, 1),
    )


def blocks_table(a: SessionAnalysis) -> Table | None:
    """One row per marker label, all blocks of a label pooled (None without blocks)."""
    labels = list(dict.fromkeys(lab for _, _, lab in a.intervals))
    if not labels:
        return None
    header = ["label", "blocks", "duration (m:ss)"]
    if a.dyad is not None:
        header += ["EDA CI", "HR CI", "EDA lead (tested)"]
    for r in a.roles:
        header += [f"{r} HR (bpm)", f"{r} RMSSD (ms)", f"{r} SCL (µS)", f"{r} SCR/min"]
    rows = []
    for lab in labels:
        spans = [(t0, t1) for t0, t1, x in a.intervals if x == lab]
        cells = [lab, str(len(spans)), fmt_mmss(sum(t1 - t0 for t0, t1 in spans))]
        if a.dyad is not None:
            eda_ci, lead = _signal_ci(a.dyad.eda, lab, None)
            cells += [eda_ci, _signal_ci(a.dyad.hr, lab, None)[0], lead]
        for r in a.roles:
            cells += _person_cells(a.person_labels[r][lab])
        rows.append(tuple(cells))
    return Table(
        "blocks",
        "Blocks by label (talking vs listening)",
        tuple(header),
        tuple(rows),
        "All blocks with the same marker label pooled. CI = Marci concordance index "
        "(> 0: the two signals mostly rise and fall together).",
    )


def intervals_table(a: SessionAnalysis) -> Table | None:
    """One row per block, in time order (None without blocks)."""
    if not a.intervals:
        return None
    header = ["label", "from", "to"] + (["EDA CI", "HR CI"] if a.dyad is not None else [])
    for r in a.roles:
        header += [f"{r} HR (bpm)", f"{r} SCL (µS)"]
    rows = []
    for i, (t0, t1, lab) in enumerate(a.intervals):
        cells = [lab, fmt_mmss(t0 - a.t_start), fmt_mmss(t1 - a.t_start)]
        if a.dyad is not None:
            cells += [_signal_ci(a.dyad.eda, None, i)[0], _signal_ci(a.dyad.hr, None, i)[0]]
        for r in a.roles:
            pi = a.person_blocks[r][i]
            cells += [fmt_value(pi.mean_hr_bpm, 1), fmt_value(pi.scl_us, 2)]
        rows.append(tuple(cells))
    return Table("intervals", f"Every block ({len(rows)})", tuple(header), tuple(rows))


def physiology_table(a: SessionAnalysis) -> Table:
    """HRV and skin conductance of each person over the whole session, with the baseline."""
    items = [
        ("cardiac signal", lambda p: p.cardiac_kind.upper() or MISSING),
        ("beats detected", lambda p: fmt_value(p.n_beats)),
        ("IBIs used", lambda p: fmt_value(p.n_ibi)),
        ("mean HR (bpm)", lambda p: fmt_value(p.mean_hr_bpm, 1)),
        ("SDNN (ms)", lambda p: fmt_value(p.sdnn_ms, 1)),
        ("RMSSD (ms)", lambda p: fmt_value(p.rmssd_ms, 1)),
        ("ln RMSSD", lambda p: fmt_value(p.ln_rmssd, 2)),
        ("pNN50 (%)", lambda p: fmt_value(p.pnn50_pct, 1)),
        ("LF (ms²)", lambda p: fmt_value(p.lf_ms2, 0)),
        ("HF (ms²)", lambda p: fmt_value(p.hf_ms2, 0)),
        ("LF/HF", lambda p: fmt_value(p.lf_hf, 2)),
        ("spectrum over (s)", lambda p: fmt_value(p.spectral_duration_s, 0)),
        ("coherence ratio (mean of 64 s windows)", lambda p: fmt_value(p.coherence_ratio, 2)),
        ("corrected / excluded IBIs", lambda p: (
            f"{sum(int(p.artifacts.get(k, 0)) for k in CORRECTED)} / "
            f"{sum(int(p.artifacts.get(k, 0)) for k in EXCLUDED)}")),
        ("SCL (µS)", lambda p: fmt_value(p.scl_us, 2)),
        ("SCR count", lambda p: fmt_value(p.scr_count)),
        ("SCR per minute", lambda p: fmt_value(p.scr_per_min, 2)),
        ("EDA noise SD (µS)", lambda p: fmt_value(p.eda_noise_us, 4)),
        ("SCR threshold (µS; max of floor and k x noise)", lambda p: fmt_value(p.scr_threshold_us, 3)),
    ]  # fmt: skip
    rows = [(name,) + tuple(f(a.persons[r]) for r in a.roles) for name, f in items]
    rows.append(
        ("baseline ln RMSSD",) + tuple(fmt_value(a.baseline[r][0].ln_rmssd, 2) for r in a.roles)
    )
    rows.append(("baseline mean HR (bpm)",) + tuple(fmt_value(a.baseline[r][0].mean_hr_bpm, 1) for r in a.roles))  # fmt: skip
    rows.append(("baseline from",) + tuple(a.baseline[r][1] for r in a.roles))
    return Table(
        "physiology",
        "Heart rate variability and skin conductance (whole session)",
        ("metric",) + a.roles,
        tuple(rows),
    )


def heartpy_table(a: SessionAnalysis) -> Table | None:
    """heartpy's HR and RMSSD beside ours over the same PPG stretch (None if not computed)."""
    if not a.heartpy:
        return None
    rows = []
    for r in a.roles:
        c = a.heartpy.get(r)
        if c is None:
            continue
        est = c.estimate
        span = (
            f"{fmt_mmss(c.t0 - a.t_start)}–{fmt_mmss(c.t1 - a.t_start)}"
            if est.available
            else MISSING
        )
        rows.append(
            (
                r,
                span,
                fmt_value(c.our_hr_bpm, 1),
                fmt_value(est.bpm, 1) if est.available else MISSING,
                fmt_value(c.our_rmssd_ms, 1),
                fmt_value(est.rmssd_ms, 1) if est.available else MISSING,
                "" if est.available else f"heartpy n/a: {est.error}",
            )
        )
    return Table(
        "heartpy",
        "Second opinion: heartpy on the same PPG",
        (
            "person",
            "stretch (m:ss)",
            "HR (bpm)",
            "heartpy HR",
            "RMSSD (ms)",
            "heartpy RMSSD",
            "note",
        ),  # fmt: skip
        tuple(rows),
        "heartpy 1.2.7 (van Gent et al.), an independent offline peak detector with its own "
        "artifact rejection, run on the longest unbroken PPG stretch (at most 10 min); our "
        "numbers are over exactly the same stretch. RMSSD differs more than HR because each "
        "tool corrects ectopic and missed beats its own way.",
    )


def quality_table(a: SessionAnalysis) -> Table:
    """Artifact counts and signal quality of each person."""
    first = next(iter(a.persons.values()))
    what = {  # artifact counts are beats the correction changed; the rest excluded IBIs
        "ectopic": "beats moved (ectopic)",
        "longshort": "beats moved (long/short)",
        "missed": "beats inserted (missed)",
        "extra": "beats removed (extra)",
    }
    rows = [
        (what.get(k, f"IBIs excluded: {k}"),)
        + tuple(str(int(a.persons[r].artifacts.get(k, 0))) for r in a.roles)
        for k in first.artifacts
    ]
    rows.append(("cardiac windows judged good",) + tuple(_pct(a.persons[r].cardiac_good_fraction) for r in a.roles))  # fmt: skip
    rows.append(("EDA samples valid",) + tuple(_pct(a.persons[r].eda_valid_fraction) for r in a.roles))  # fmt: skip

    def problems(r: str) -> str:
        reasons = sorted(a.persons[r].cardiac_quality_reasons.items(), key=lambda kv: -kv[1])
        return "; ".join(f"{k} ({v})" for k, v in reasons[:3]) or "none"

    rows.append(("main cardiac problems",) + tuple(problems(r) for r in a.roles))
    return Table("quality", "Signal quality and artifacts", ("item",) + a.roles, tuple(rows))


def inputs_table(a: SessionAnalysis) -> Table:
    """The streams and channels the analysis used, and why; for streams imported from device
    files also where they came from (file, device, serial, conversion applied)."""
    imported = any(getattr(c, "origin", "") for c in a.channels)
    rows = tuple(
        (
            c.role,
            c.modality.upper(),
            c.stream,
            c.stream_type,
            f"{c.channel} ({c.label})",
            c.unit or MISSING,
            fmt_value(c.srate_used, 1),
            str(c.n_samples),
            c.why,
        )
        + ((c.origin or MISSING,) if imported else ())  # fmt: skip
        for c in a.channels
    )
    head = ("role", "signal", "stream", "type", "channel", "unit", "Hz", "samples", "assigned by")
    return Table(
        "inputs", "Input streams", head + (("from device file",) if imported else ()), rows
    )


def session_tables(a: SessionAnalysis) -> list[Table]:
    """Every table of the session, in reading order (absent ones left out)."""
    found = [
        concordance_table(a),
        contrasts_table(a),
        hr_synchrony_table(a),
        blocks_table(a),
        intervals_table(a),
        physiology_table(a),
        heartpy_table(a),
        quality_table(a),
        inputs_table(a),
    ]
    return [t for t in found if t is not None]
