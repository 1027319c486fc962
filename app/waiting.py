"""What a live session is still waiting for, in words: per person and signal.

The console and ``attune run --headless`` start before the wearables do. Each person's EDA
and cardiac signal is connected the moment its stream appears (:class:`app.live.StreamFinder`);
until then the session says, per person and signal, what it waits for:

    waiting for the patient's EDA: EmotiBit-A*

Some slots can never be filled by waiting: a ``--role`` given for one person only, or a map
file naming no EDA (or no PPG/ECG) for someone. :func:`wanted_signals` marks them
``impossible`` from the options alone, before any stream is seen. Slots for which several
streams fit (ambiguous) or whose stream cannot be used (no such channel, text samples) carry
a short ``problem``; the full list of streams is in the Streams dialog (``attune streams`` on
the command line), never in this text.

No Qt, no LSL: this module only turns the options and the latest assignment into words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from devices.assign import CARDIAC, ROLE_WORDS, Assignment, ProblemKind, people_of

SIGNALS = ("eda", "cardiac")
"""The two signals every person needs: EDA and one cardiac signal (ECG, PPG or intervals)."""

_NAMES = {"eda": "EDA", "ppg": "PPG", "ecg": "ECG", "ibi": "beat intervals"}
_SHOWN_CANDIDATES = 3


@dataclass(frozen=True)
class Wanted:
    """One person's signal the session has not connected yet.

    Attributes
    ----------
    role : str
        The person's role name ('patient', 'clinician', or a group's 'partner' ...).
    signal : str
        'eda' or 'cardiac' (:data:`SIGNALS`).
    label : str
        The signal in words: 'EDA', 'PPG/ECG', or what the map names ('PPG', 'ECG or PPG').
    what : str
        What is looked for: the ``--role`` or map glob, or the role words.
    problem : str
        Why a visible stream is not used ('' while simply not there yet).
    brief : str
        The problem in a few words ('3 streams fit'), for a narrow place.
    impossible : bool
        No stream can ever fill this slot with these options (one ``--role`` only, a map
        without this signal); ``what`` then says which option is missing.
    """

    role: str
    signal: str
    label: str
    what: str
    problem: str = ""
    brief: str = ""
    impossible: bool = False

    @property
    def whose(self) -> str:
        """'the patient's EDA'."""
        return f"the {self.role}'s {self.label}"

    @property
    def text(self) -> str:
        """One short line: 'waiting for the patient's EDA: EmotiBit-A*' (or the problem)."""
        if self.impossible:
            return f"cannot connect {self.whose}: {self.what}"
        if self.problem:
            return f"{self.whose}: {self.problem}"
        return f"waiting for {self.whose}: {self.what}"


def _role_words_text(role: str) -> str:
    words = " or ".join(f"'{w}'" for w in ROLE_WORDS[role])
    return f"a stream whose name or source_id contains {words}"


def _map_entries(entries: dict, modalities: Sequence[str]) -> tuple[str, str]:
    """(label, globs) of the map's entries for ``modalities`` ('' when none)."""
    used = [m for m in modalities if m in entries]
    if not used:
        return "", ""
    globs = []
    for m in used:
        spec = entries[m]
        glob = str(spec["stream"])
        glob += f" on host {spec['host']}" if "host" in spec else ""
        globs.append(glob)
    label = " or ".join(_NAMES[m] for m in used)
    return label, " or ".join(dict.fromkeys(globs))


def wanted_signals(
    roles: dict[str, str] | None, mapping: dict[str, dict[str, dict]] | None
) -> tuple[Wanted, ...]:
    """Every person's EDA and cardiac signal as the options describe them (none connected).

    Parameters
    ----------
    roles : dict or None
        ``--role`` globs by role (take precedence over ``mapping``, as in
        :func:`devices.assign.assign`).
    mapping : dict or None
        A loaded TOML map.
    """
    out: list[Wanted] = []
    for role in people_of(roles or None, mapping if not roles else None):  # 2-8 people
        if roles:
            glob = roles.get(role)
            for sig, label in (("eda", "EDA"), ("cardiac", "PPG/ECG")):
                if glob:
                    out.append(Wanted(role, sig, label, glob))
                else:
                    why = f"no --role {role}=GLOB was given"
                    out.append(Wanted(role, sig, label, why, impossible=True))
        elif mapping:
            entries = mapping.get(role, {})
            for sig, mods, default in (("eda", ("eda",), "EDA"), ("cardiac", CARDIAC, "PPG/ECG")):
                label, globs = _map_entries(entries, mods)
                if globs:
                    out.append(Wanted(role, sig, label, globs))
                else:
                    why = f"the map file names no {default} for the {role}"
                    out.append(Wanted(role, sig, default, why, impossible=True))
        else:
            for sig, label in (("eda", "EDA"), ("cardiac", "PPG/ECG")):
                out.append(Wanted(role, sig, label, _role_words_text(role)))
    return tuple(out)


def _short_problem(kind: ProblemKind, detail: str, candidates: Sequence[str]) -> str:
    if kind is ProblemKind.AMBIGUOUS:
        names = sorted(set(candidates))
        shown = ", ".join(names[:_SHOWN_CANDIDATES])
        more = f" and {len(names) - _SHOWN_CANDIDATES} more" if len(names) > 3 else ""
        n = len(names) if len(names) > 1 else "several"
        return f"{n} streams fit ({shown}{more}); which one is theirs must be chosen"
    return detail


def _brief(kind: ProblemKind, candidates: Sequence[str]) -> str:
    if kind is ProblemKind.AMBIGUOUS:
        n = len(set(candidates))
        return f"{n if n > 1 else 'several'} streams fit"
    return "its stream cannot be used"


def still_wanted(
    wanted: Iterable[Wanted], connected: set[tuple[str, str]], latest: Assignment | None
) -> tuple[Wanted, ...]:
    """The wanted signals not connected yet, each with the problem of the latest assignment.

    Parameters
    ----------
    wanted : iterable of Wanted
        From :func:`wanted_signals`.
    connected : set of (role, signal)
        Signals already connected ('eda' or 'cardiac').
    latest : Assignment or None
        The newest assignment of the visible streams (None before the first look).
    """
    out = []
    for w in wanted:
        if (w.role, w.signal) in connected:
            continue
        problem = brief = ""
        if latest is not None and not w.impossible:
            mine = [
                p
                for p in latest.problems
                if p.blocks_assigned and p.kind is not ProblemKind.NO_MATCH
                if p.concerns(w.role, w.signal)
            ]
            if mine:  # every stream that fits, when several problems name some of them
                names = [n for p in mine if p.kind is mine[0].kind for n in p.candidates]
                problem = _short_problem(mine[0].kind, mine[0].detail, names)
                brief = _brief(mine[0].kind, names)
        out.append(replace(w, problem=problem, brief=brief))
    return tuple(out)


def blocked(assignment: Assignment, role: str, modality: str) -> bool:
    """True when a problem other than absence concerns ``role``'s ``modality`` (e.g. two
    streams fit it): its channel, if any, must not be connected."""
    sig = "eda" if modality == "eda" else "cardiac"
    return any(p.blocks_assigned and p.concerns(role, sig) for p in assignment.problems)


def signal_of(modality: str) -> str:
    """'eda' for EDA, 'cardiac' for ECG, PPG and beat intervals."""
    return "eda" if modality == "eda" else "cardiac"


def waiting_line(wanted: Sequence[Wanted]) -> str:
    """All waiting signals in one line ('' when none)."""
    return "; ".join(w.text for w in wanted)


def also_fit(latest: Assignment, connected: Assignment) -> tuple[str, ...]:
    """Notes for connected signals that more streams fit now than when they were connected:
    'the patient's EDA: Wrist-2 also fits; still using Wrist-1'. The connected stream is
    kept (never switched silently); the note says so."""
    out = []
    for c in connected.channels:
        names = {
            n
            for p in latest.problems
            if p.kind is ProblemKind.AMBIGUOUS and p.concerns(c.role, signal_of(c.modality))
            for n in p.candidates
        } - {c.stream.name}
        if names:
            shown = sorted(names)
            verb = "also fits" if len(shown) == 1 else "also fit"
            out.append(
                f"the {c.role}'s {_NAMES[c.modality]}: {', '.join(shown[:_SHOWN_CANDIDATES])}"
                f"{' and more' if len(shown) > _SHOWN_CANDIDATES else ''} {verb}; "
                f"still using {c.stream.name}"
            )
    return tuple(out)


def impossible_line(wanted: Sequence[Wanted]) -> str:
    """The slots no stream can fill, one clause per person and reason ('' when none)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for w in wanted:
        if w.impossible:
            groups.setdefault((w.role, w.what), []).append(w.label)
    return "; ".join(
        f"cannot connect the {role}'s {' and '.join(labels)}: {what}"
        for (role, what), labels in groups.items()
    )


def row_words(wanted: Sequence[Wanted], where: str) -> dict[tuple[str, str], str]:
    """Words for each (role, signal) row not connected yet; a problem in a few words
    ('the patient's EDA: 3 streams fit; choose in <where>'), the line below says more."""
    out = {}
    for w in wanted:
        text = f"{w.whose}: {w.brief}; choose in {where}" if w.problem else w.text
        out[(w.role, w.signal)] = text
    return out


def problem_lines(wanted: Sequence[Wanted], notes: Sequence[str], where: str) -> tuple[str, ...]:
    """One short line per problem (several streams fit, an unusable stream) and per note
    (another stream fits a connected signal too); never the list of every stream."""
    return (*(f"{w.text} in {where}" for w in wanted if w.problem), *notes)
