"""Parameters of the streaming two-moving-average beat detector (:mod:`dsp.ppg`), shared by
the PPG (``dsp.ppg.PPG_PARAMS``) and ECG (``dsp.ecg.ECG_PARAMS``) settings. All times in s."""

from __future__ import annotations

from dataclasses import dataclass

from dsp.fiducial import UPSTROKE_LEVEL, Fiducial

__all__ = ["BeatDetectorParams"]


@dataclass(frozen=True)
class BeatDetectorParams:
    """Parameters of the two-moving-average beat detector (all times in seconds).

    Attributes
    ----------
    band_hz : tuple of float
        Causal Butterworth band-pass edges in Hz used for detection.
    order : int
        Butterworth order per edge.
    w_peak_s, w_beat_s : float
        Lengths of the short (``MA_peak``) and long (``MA_beat``) moving averages.
    beta : float
        Offset factor applied to the running mean of the energy signal.
    mean_tau_s : float
        Time constant of the running mean of the energy signal.
    rectify : bool
        True: energy is ``max(y, 0)**2`` (PPG, upward pulses); False: ``y**2`` (ECG QRS).
    smooth_hz, smooth_len_s : float
        Symmetric FIR low-pass used to localise the peak on the raw signal.
    delay_s : float
        Band-pass group delay compensated when mapping a block back to the raw signal.
    pad_s : float
        Extra search margin on each side of the shifted block.
    refractory_s : float
        Minimum distance between two accepted peaks.
    amplitude_gate : (float, float) or None
        ``(lo, hi)``: a wave is rejected as artefact when its band-passed peak amplitude is
        outside ``lo``-``hi`` times the median of the last 8 accepted beats, or, when it
        arrives on time (>= 0.75 median interval after the last beat), outside ``lo / 2`` -
        ``1.5 hi`` (after 4 rejections in a row the reference is rebuilt, so a lasting change
        is followed).
    early_weak : (float, float) or None
        A candidate closer to the previous beat than ``early_weak[0]`` times the median of
        the last 8 intervals *and* weaker than ``early_weak[1]`` times the previous beat is a
        secondary (diastolic/dicrotic) wave and is rejected. Causal: decided at commit time.
    detrend_window : bool
        Subtract the straight line through the ends of the search window before taking the
        maximum (ECG: a sharp R peak on a steep baseline; PPG keeps the raw maximum).
    use_abs : bool
        Localise on ``|smoothed raw - local mean|`` instead of the raw maximum (ECG of unknown
        polarity); False for PPG.
    fiducial : Fiducial
        ``PEAK``: the beat is the (parabola-refined) maximum. ``MID_UPSTROKE`` (PPG): see the
        module docstring, *Timing*.
    fiducial_hz, fiducial_len_s : float
        Symmetric FIR low-pass (cut-off Hz, length s) applied before the mid-upstroke point.
    fiducial_level : float
        Where on the upstroke the ``MID_UPSTROKE`` point lies, as a fraction of the way from
        the preceding minimum to the systolic maximum (:data:`dsp.fiducial.UPSTROKE_LEVEL`).
    rise_beats : float
        Time constant (beats) of the running mean of the mid-upstroke-to-peak interval.
    search_back : float or None
        Search-back for a missed beat (Pan & Tompkins 1985): when an accepted beat follows the
        previous one by 1.5-2.5 times the median of the last 8 intervals (one beat missing), the
        band-passed signal between them is searched for the most prominent local maximum at
        least 0.6 median intervals from both beats; it is a beat when its prominence is at
        least ``search_back`` times the median amplitude of recent beats. None: no search.
    startup_s : float or None
        Start-up rule (:mod:`dsp.beat_startup`): with no rhythm history (segment start, or the
        amplitude reference rebuilt) the candidates of the first ``startup_s`` seconds (at
        least 4, at most ``2 startup_s`` s) are held and committed together once the rhythm is
        established from them, so diastolic waves are not taken for beats. None: commit at once.
    hold_s : float or None
        A run of exactly equal samples this long (s) is no signal (a monitor holding its last
        value or sending 0 while the sensor is off): from that point on the run is treated as
        missing data (a gap, like NaN) until the value changes. None: never.
    """

    band_hz: tuple[float, float] = (0.5, 8.0)
    order: int = 2
    w_peak_s: float = 0.111
    w_beat_s: float = 0.667
    beta: float = 0.02
    mean_tau_s: float = 10.0
    rectify: bool = True
    smooth_hz: float = 15.0
    smooth_len_s: float = 0.1
    delay_s: float = 0.05
    pad_s: float = 0.06
    refractory_s: float = 0.3
    use_abs: bool = False
    amplitude_gate: tuple[float, float] | None = (0.4, 3.0)
    detrend_window: bool = False
    early_weak: tuple[float, float] | None = (0.55, 0.8)
    fiducial: Fiducial = Fiducial.PEAK
    fiducial_hz: float = 5.0
    fiducial_len_s: float = 0.25
    fiducial_level: float = UPSTROKE_LEVEL
    rise_beats: float = 16.0
    search_back: float | None = None
    startup_s: float | None = None
    hold_s: float | None = None
