"""Which stream is whose, and which channel of it: role and modality assignment.

A session has 2-8 people, each named by a role: ``patient`` and ``clinician`` by default, or
any other word (``partner``, ``cotherapist``, ``supervisor``, ``mother`` ...) given with
``--role`` or as a map file's sections; :attr:`Assignment.people` lists them in the order
given (the two default roles in their fixed order whenever only they are named).

Rules, in order of precedence:

1. ``--role patient=GLOB --role clinician=GLOB`` (any role names, 2-8 of them; one
   ``--role`` per person): a glob on stream name or source_id,
   optionally ``GLOB@HOST`` to take only streams from that host (a glob on the hostname) when
   identical devices publish on several PCs;
2. a TOML map file::

       [patient]
       eda = { stream = "Shimmer-A*", channel = "GSR" }
       ppg = { stream = "Shimmer-A*", channel = "PPG" }
       [clinician]
       ecg = { stream = "PolarH10*", host = "lab-pc-2" }

   (``stream`` globs name or source_id; ``host`` globs the hostname; ``channel`` picks by
   label, or by 0-based index when it is an integer or a digit string that is no channel's
   label);
3. names/source_ids containing patient/client vs clinician/therapist/practitioner (the two
   default roles only).

One stream channel never serves two people: when two people's globs or map entries land on
the same channel, neither gets it and one ``SHARED`` problem names both (a multi-channel
amplifier can still give each person their own channel through a map file).

Modality, channel and unit conversion come from the stream's device profile
(:mod:`devices.profiles`: EmotiBit, E4, Shimmer, BITalino/PLUX, Polar, Muse, Biopac, and the
generic type rules EDA/GSR/SCL -> eda, PPG/BVP -> ppg, ECG -> ecg, IBI/RR -> ibi). A role gets
one cardiac signal: ECG before PPG before beat intervals (IBI/RR). When the result is ambiguous or incomplete, :class:`Assignment` says so in one line
(``problems``, typed :class:`AssignmentProblem` values) listing what was found and how to map
it; nothing is guessed silently.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from devices.lsl import StreamDescription
from devices.profiles import SIGNAL_MODALITIES, ChannelUse, Conversion, ConversionKind, identify

ROLES = ("patient", "clinician")  # the two-person default, in this order
MIN_PEOPLE, MAX_PEOPLE = 2, 8
#: A role name: a word (letters, digits, underscore; not starting with a digit), lowercased.
ROLE_NAME = re.compile(r"^[^\W\d]\w{0,31}$")
#: Top-level key of a map file listing the pairs that matter: ``pairs = ["a-b", ...]``.
PAIRS_KEY = "pairs"
MODALITIES = SIGNAL_MODALITIES  # eda, ppg, ecg, ibi
CARDIAC = ("ecg", "ppg", "ibi")  # in order of preference
TYPE_TO_MODALITY = {"eda": "eda", "gsr": "eda", "scl": "eda", "ppg": "ppg", "bvp": "ppg"}
TYPE_TO_MODALITY.update({"ecg": "ecg", "ibi": "ibi", "rr": "ibi"})
ROLE_WORDS = {
    "patient": ("patient", "client"),
    "clinician": ("clinician", "therapist", "practitioner"),
}
# channel labels that name a modality inside a multi-channel stream
LABEL_WORDS = {
    "eda": ("eda", "gsr", "scl", "sc", "skin", "conductance"),
    "ppg": ("ppg", "bvp", "pleth", "pulse"),
    "ecg": ("ecg", "ekg"),
}


class MapError(ValueError):
    """A map file or --role option that cannot be used (one clear line)."""


class ProblemKind(StrEnum):
    """Why a (role, modality) could not be assigned."""

    MISSING = "missing"  # nothing assigned and nothing else went wrong
    NO_MATCH = "no match"  # a --role/map glob matches no stream
    AMBIGUOUS = "ambiguous"  # several streams fit the same slot
    NO_CHANNEL = "no channel"  # the named channel does not exist
    NOT_NUMERIC = "not numeric"  # the stream carries strings
    TWICE = "assigned twice"  # two streams picked for the same slot (dialog)
    SHARED = "shared"  # one stream channel given to two people


@dataclass(frozen=True)
class AssignmentProblem:
    """One reason an assignment is incomplete or unusable.

    Attributes
    ----------
    kind : ProblemKind
        What went wrong (match on this, never on the text).
    role : str
        The person's role name ('patient', 'clinician', or any other).
    modality : str
        'eda', 'ppg', 'ecg', or 'cardiac' (ppg or ecg) for a missing cardiac signal;
        '' when the problem concerns the whole role (a --role glob that matches nothing).
    detail : str
        The user-facing explanation after the ``role modality:`` prefix.
    candidates : tuple of str
        For ``AMBIGUOUS``: the names of the streams that fit the slot (else empty).
    others : tuple of str
        For ``SHARED``: the other people given the same stream channel (the problem concerns
        them too).
    """

    kind: ProblemKind
    role: str
    modality: str
    detail: str
    candidates: tuple[str, ...] = ()
    others: tuple[str, ...] = ()

    @property
    def blocks_assigned(self) -> bool:
        """True when something the user asked for is wrong (not merely left unassigned)."""
        return self.kind is not ProblemKind.MISSING

    def concerns(self, role: str, modality: str) -> bool:
        """True when this problem is about ``role``'s ``modality`` ('cardiac' = ppg or ecg)."""
        if self.role != role and role not in self.others:
            return False
        if modality == "cardiac":
            return self.modality in (*CARDIAC, "cardiac")
        return self.modality == modality

    def __str__(self) -> str:
        mod = "ppg/ecg" if self.modality == "cardiac" else self.modality
        who = " and ".join((self.role, *self.others))
        head = f"{who} {mod}".strip()
        return f"{head}: {self.detail}"


def missing_problems(
    channels: Sequence[Channel],
    problems: Sequence[AssignmentProblem],
    people: Sequence[str] = ROLES,
) -> list[AssignmentProblem]:
    """``MISSING`` problems for each person without EDA or without a cardiac channel.

    A slot that already has another problem (``problems``) is not reported again, nor is a
    person whose whole ``--role`` glob matched nothing (one line per person, not three).
    """
    have = {(c.role, c.modality) for c in channels}
    out: list[AssignmentProblem] = []
    for role in people:
        if any(p.role == role and not p.modality for p in problems):
            continue
        if (role, "eda") not in have and not any(p.concerns(role, "eda") for p in problems):
            out.append(AssignmentProblem(ProblemKind.MISSING, role, "eda", "no stream assigned"))
        if not any((role, m) in have for m in CARDIAC) and not any(
            p.concerns(role, "cardiac") for p in problems
        ):
            out.append(
                AssignmentProblem(ProblemKind.MISSING, role, "cardiac", "no stream assigned")
            )
    return out


@dataclass(frozen=True)
class Channel:
    """One assigned signal: a stream and the channel within it."""

    role: str
    modality: str
    stream: StreamDescription
    channel: int
    why: str
    device: str = "generic"
    use: ChannelUse | None = None

    @property
    def conversion(self) -> Conversion:
        """Stored values -> µS (EDA) / ms (IBI); identity when the profile gives none."""
        return self.use.conversion if self.use is not None else Conversion(ConversionKind.IDENTITY)

    @property
    def label(self) -> str:
        labels = self.stream.labels
        lab = labels[self.channel] if self.channel < len(labels) and labels[self.channel] else ""
        return lab or f"ch{self.channel}"


@dataclass(frozen=True)
class Assignment:
    """Result of assigning streams to roles and modalities.

    Attributes
    ----------
    channels : tuple of Channel
    problems : tuple of AssignmentProblem
    people : tuple of str
        The session's people (role names) in order: ``ROLES`` unless ``--role`` / a map file
        named others (:func:`people_of`).
    """

    channels: tuple[Channel, ...]
    problems: tuple[AssignmentProblem, ...] = field(default=())
    people: tuple[str, ...] = ROLES

    @property
    def problem_text(self) -> str:
        """All problems as one line (`` | ``-separated)."""
        return " | ".join(str(p) for p in self.problems)

    def get(self, role: str, modality: str) -> Channel | None:
        for c in self.channels:
            if c.role == role and c.modality == modality:
                return c
        return None

    def cardiac(self, role: str) -> Channel | None:
        """The role's cardiac channel (ECG, else PPG, else beat intervals)."""
        return next((c for m in CARDIAC if (c := self.get(role, m)) is not None), None)

    @property
    def complete(self) -> bool:
        return all(self.get(r, "eda") and self.cardiac(r) for r in self.people)


def modality_of(stype: str) -> str | None:
    """Modality ('eda', 'ppg', 'ecg') for an LSL stream type, or None."""
    return TYPE_TO_MODALITY.get(stype.strip().lower())


def _matches(glob: str, s: StreamDescription, host: str | None = None) -> bool:
    """``glob`` on name or source_id; ``GLOB@HOST`` (or ``host``) also globs the hostname."""
    if host is None and "@" in glob:
        glob, host = glob.rsplit("@", 1)
    if host is not None and not fnmatch.fnmatchcase(s.hostname.lower(), host.lower()):
        return False
    g = glob.lower()
    return fnmatch.fnmatchcase(s.name.lower(), g) or fnmatch.fnmatchcase(s.source_id.lower(), g)


def _uses(s: StreamDescription, streams: Sequence[StreamDescription]) -> tuple[str, list]:
    """(device family, signal channel uses) of a stream from its profile."""
    prof = identify(s, siblings=streams, desc_xml=s.desc_xml)
    return prof.family, [u for u in prof.channels if u.modality in MODALITIES]


def _role_from_words(s: StreamDescription) -> str | None:
    text = f"{s.name} {s.source_id}".lower()
    hits = [r for r, words in ROLE_WORDS.items() if any(w in text for w in words)]
    return hits[0] if len(hits) == 1 else None


def _channel_for(s: StreamDescription, modality: str, want: str | int | None) -> int | None:
    """Index of the channel to use: by explicit label/index, by label words, or the only one."""
    n = s.channel_count
    if want is not None:
        # a string is a label first (some devices label channels "1", "2", ...), then an
        # index; an integer is always an index
        if not isinstance(want, int):
            for i, lab in enumerate(s.labels):
                if lab.lower() == str(want).lower():
                    return i
        if isinstance(want, int) or str(want).isdigit():
            i = int(want)
            return i if 0 <= i < n else None
        return None
    for i, lab in enumerate(s.labels):
        if lab.lower() in LABEL_WORDS[modality]:
            return i
    return 0


def role_name(text: str, where: str) -> str:
    """``text`` as a role name (stripped, lowercased); :class:`MapError` when it is no word.

    ``where`` begins the error line (e.g. ``"--role 'x y=A'"``).
    """
    name = text.strip().lower()
    if not ROLE_NAME.match(name):
        raise MapError(
            f"{where}: a role name is one word (letters, digits, _; e.g. patient, partner, "
            f"cotherapist), got {text.strip()!r}"
        )
    return name


def _check_count(names: Sequence[str], where: str) -> None:
    """2-8 people; one default role alone is still the two-person session (the other one
    is then missing), any other single name is refused."""
    if len(names) == 1 and names[0] not in ROLES:
        raise MapError(
            f"{where} names one person ({names[0]}); a session has {MIN_PEOPLE} to "
            f"{MAX_PEOPLE} people, one ROLE=GLOB each (patient and clinician by default)"
        )
    if len(names) > MAX_PEOPLE:
        raise MapError(
            f"{where} names {len(names)} people ({', '.join(names)}); a session has at most "
            f"{MAX_PEOPLE}"
        )


def parse_role_options(options: list[str]) -> dict[str, str]:
    """``["patient=Shimmer*", "partner=E4-B*@lab-2", ...]`` -> ``{"patient": "Shimmer*", ...}``.

    Any role names (one word each), one ``--role`` per person, at most :data:`MAX_PEOPLE`;
    raises :class:`MapError` (one line) otherwise.
    """
    out: dict[str, str] = {}
    for opt in options:
        role, sep, glob = opt.partition("=")
        if not sep or not role.strip() or not glob.strip().split("@")[0]:
            raise MapError(
                f"--role wants ROLE=GLOB or ROLE=GLOB@HOST (ROLE e.g. patient, clinician, "
                f"partner), got {opt!r}"
            )
        role = role_name(role, f"--role {opt!r}")
        if role in out:
            raise MapError(
                f"--role {role} is given twice ({out[role]!r} and {glob.strip()!r}); "
                "one --role per person"
            )
        out[role] = glob.strip()
    _check_count(list(out), "--role")
    return out


def people_of(
    roles: dict[str, str] | None = None,
    mapping: dict[str, dict[str, dict[str, str | int]]] | None = None,
) -> tuple[str, ...]:
    """The session's people: ``ROLES`` when only the default roles (or none) are named, else
    the names of ``roles`` (``--role``), or else of ``mapping`` (map sections), in order."""
    names = tuple(roles or mapping or ())
    if not names or set(names) <= set(ROLES):
        return ROLES
    return names


def load_map(path: str | Path) -> dict[str, dict[str, dict[str, str | int]]]:
    """Read a TOML stream map; raises :class:`MapError` with one clear line when unusable."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MapError(f"map file not found: {p}") from None
    except UnicodeDecodeError as exc:
        raise MapError(f"map file {p} is not valid TOML: {exc}") from None
    return map_from_text(text, f"map file {p}")


def map_from_text(text: str, where: str) -> dict[str, dict[str, dict[str, str | int]]]:
    """A stream map from its TOML text (a map file, or the one a recording carries);
    ``where`` begins every error line (``"map file x.toml"``).

    Raises
    ------
    MapError
        Not TOML, or not a map (one line).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MapError(f"{where} is not valid TOML: {exc}") from None
    out: dict[str, dict[str, dict[str, str | int]]] = {}
    for section, entries in data.items():
        if section == PAIRS_KEY and isinstance(entries, list):
            continue  # which pairs matter (app.people reads it)
        if not isinstance(entries, dict) or not ROLE_NAME.match(section):
            raise MapError(
                f"{where}: unknown section [{section}] (one [ROLE] table per person, "
                "e.g. [patient], [clinician], [partner])"
            )
        role = section.lower()
        if role in out:
            raise MapError(f"{where}: [{role}] appears twice")
        if not entries:
            raise MapError(f"{where}: [{role}] names no stream (give it eda/ppg/ecg/ibi)")
        out[role] = {}
        for modality, spec in entries.items():
            if modality not in MODALITIES:
                raise MapError(
                    f"{where}: [{role}] {modality} is not one of {', '.join(MODALITIES)}"
                )
            if isinstance(spec, str):
                spec = {"stream": spec}
            if not isinstance(spec, dict) or "stream" not in spec:
                raise MapError(f'{where}: [{role}] {modality} needs stream = "GLOB"')
            out[role][modality] = dict(spec)
    _check_count(list(out), where)
    return out


def pairs_from_text(text: str, where: str) -> list[str]:
    """The ``pairs = ["patient-clinician", ...]`` list of a map's TOML text ([] when absent
    or unreadable: :func:`map_from_text` gives the line for an unreadable map)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return []
    value = data.get(PAIRS_KEY, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MapError(f'{where}: pairs must be a list like ["patient-clinician"]')
    return list(value)


def map_pairs(path: str | Path) -> list[str]:
    """The ``pairs = ["patient-clinician", ...]`` list of a map file ([] when absent)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []  # load_map gives the one line for an unreadable file
    return pairs_from_text(text, f"map file {p}")


def dump_map(assignment: Assignment) -> str:
    """TOML text of an assignment, loadable by :func:`load_map`."""
    lines: list[str] = []
    for role in assignment.people:
        chans = [c for c in assignment.channels if c.role == role]
        if not chans:
            continue
        lines.append(f"[{role}]")
        for c in chans:
            stream = c.stream.source_id or c.stream.name
            labels = c.stream.labels
            has_label = c.channel < len(labels) and labels[c.channel]
            chan = f'"{labels[c.channel]}"' if has_label else str(c.channel)
            lines.append(f'{c.modality} = {{ stream = "{stream}", channel = {chan} }}')
        lines.append("")
    return "\n".join(lines)


class _Builder:
    """Collects channels and problems while one assignment is built."""

    def __init__(self, streams: Sequence[StreamDescription]) -> None:
        self.streams = list(streams)
        self.chans: list[Channel] = []
        self.problems: list[AssignmentProblem] = []
        self.uses = {id(s): _uses(s, self.streams) for s in self.streams}

    def problem(
        self, kind: ProblemKind, role: str, modality: str, detail: str, candidates=()
    ) -> None:
        self.problems.append(AssignmentProblem(kind, role, modality, detail, tuple(candidates)))

    def modalities(self, s: StreamDescription) -> list[str]:
        return list(dict.fromkeys(u.modality for u in self.uses[id(s)][1]))

    def add(self, role: str, modality: str, s: StreamDescription, want, why: str) -> None:
        if not s.is_numeric:
            detail = f"stream {s.name!r} carries {s.channel_format} values, not numbers"
            self.problem(ProblemKind.NOT_NUMERIC, role, modality, detail)
            return
        family, uses = self.uses.get(id(s), ("generic", []))
        use = next((u for u in uses if u.modality == modality), None) if want is None else None
        idx = use.index if use is not None else _channel_for(s, modality, want)
        if idx is None:
            detail = (
                f"stream {s.name!r} has no channel {want!r} "
                f"(channels: {', '.join(s.labels) or s.channel_count})"
            )
            self.problem(ProblemKind.NO_CHANNEL, role, modality, detail)
            return
        if use is None:  # an explicitly mapped channel: the profile's use of it, if any
            use = next((u for u in uses if u.index == idx and u.modality == modality), None)
        self.chans.append(Channel(role, modality, s, idx, why, family, use))

    def by_role_glob(self, role: str, glob: str) -> None:
        hits = [s for s in self.streams if _matches(glob, s)]
        by_mod: dict[str, list[StreamDescription]] = {}
        for s in hits:
            for m in self.modalities(s):
                by_mod.setdefault(m, []).append(s)
        if not hits:
            detail = f"no stream name or source_id matches {glob!r}"
            self.problem(ProblemKind.NO_MATCH, role, "", detail)
        for m, ss in by_mod.items():
            if len(ss) > 1:
                names = ", ".join(_who(s) for s in ss)
                detail = f"{len(ss)} streams match {glob!r}: {names}"
                self.problem(ProblemKind.AMBIGUOUS, role, m, detail, [s.name for s in ss])
            else:
                self.add(role, m, ss[0], None, f"--role {role}={glob}")

    def by_map_entry(self, role: str, m: str, spec: dict[str, str | int]) -> None:
        glob = str(spec["stream"])
        host = str(spec["host"]) if "host" in spec else None
        hits = [s for s in self.streams if _matches(glob, s, host)]
        typed = [s for s in hits if m in self.modalities(s) or not self.modalities(s)]
        if len(hits) > 1 and typed:
            hits = typed
        if not hits:
            where = f" on host {host!r}" if host else ""
            detail = f"no stream matches {glob!r}{where} from the map file"
            self.problem(ProblemKind.NO_MATCH, role, m, detail)
        elif len(hits) > 1:
            names = ", ".join(_who(s) for s in hits)
            detail = f"{len(hits)} streams match {glob!r}: {names}"
            self.problem(ProblemKind.AMBIGUOUS, role, m, detail, [s.name for s in hits])
        else:
            self.add(role, m, hits[0], spec.get("channel"), f"map file [{role}] {m}")

    def by_role_words(self) -> None:
        for s in self.streams:
            role = _role_from_words(s)
            if role is None:
                continue
            for m in self.modalities(s):
                first = next((c for c in self.chans if c.role == role and c.modality == m), None)
                if first is not None:
                    detail = (
                        f"more than one stream looks like it ({s.name!r} and others); "
                        "pick one with --role or a map file"
                    )
                    both = (first.stream.name, s.name)
                    self.problem(ProblemKind.AMBIGUOUS, role, m, detail, both)
                    continue
                self.add(role, m, s, None, "name contains a role word")

    def keep_best_cardiac(self, people: Sequence[str]) -> None:
        """One cardiac signal per role: ECG, else PPG, else beat intervals."""
        for role in people:
            have = [
                m for m in CARDIAC if any(c.role == role and c.modality == m for c in self.chans)
            ]
            drop = set(have[1:])
            self.chans = [c for c in self.chans if not (c.role == role and c.modality in drop)]

    def drop_shared(self) -> None:
        """A stream channel given to two or more people goes to none of them: one
        ``SHARED`` problem per channel, naming every person it was given to."""
        by_key: dict[tuple[str, int], list[Channel]] = {}
        for c in self.chans:
            key = (c.stream.uid or "|".join(map(str, c.stream.identity)), c.channel)
            by_key.setdefault(key, []).append(c)
        shared = [cs for cs in by_key.values() if len({c.role for c in cs}) > 1]
        for cs in shared:
            roles = list(dict.fromkeys(c.role for c in cs))
            mods = "/".join(dict.fromkeys(c.modality for c in cs))
            detail = (
                f"one stream channel ({cs[0].stream.name} {cs[0].label}) is given to "
                f"{len(roles)} people; give each person their own stream (--role or map file)"
            )
            self.problems.append(
                AssignmentProblem(ProblemKind.SHARED, roles[0], mods, detail, (), tuple(roles[1:]))
            )
        gone = {id(c) for cs in shared for c in cs}
        self.chans = [c for c in self.chans if id(c) not in gone]


def _who(s: StreamDescription) -> str:
    """A stream in an error message: name, type, source_id and host."""
    return f"{s.name} ({s.type}, {s.source_id or '-'}, host {s.hostname or '?'})"


def assign(
    streams: list[StreamDescription],
    roles: dict[str, str] | None = None,
    mapping: dict[str, dict[str, dict[str, str | int]]] | None = None,
) -> Assignment:
    """Assign streams to (role, modality) channels.

    Parameters
    ----------
    streams : list of StreamDescription
        Streams visible now.
    roles : dict, optional
        ``{"patient": GLOB, "clinician": GLOB, "partner": GLOB, ...}`` from ``--role``
        options (highest precedence; 2-8 people).
    mapping : dict, optional
        A loaded TOML map (used when ``roles`` is not given).

    Raises
    ------
    MapError
        More than :data:`MAX_PEOPLE` people, or a role name that is not one word.
    """
    for names, where in ((roles, "--role"), (mapping, "the map")):
        for name in names or ():
            role_name(name, where)
        _check_count(list(names or ()), where)
    people = people_of(roles, mapping if not roles else None)
    b = _Builder(streams)
    if roles:
        for role, glob in roles.items():
            b.by_role_glob(role, glob)
    elif mapping:
        for role, entries in mapping.items():
            for m, spec in entries.items():
                b.by_map_entry(role, m, spec)
    else:
        b.by_role_words()
    if not mapping or roles:
        b.keep_best_cardiac(people)
    b.drop_shared()
    chans, problems = b.chans, b.problems
    problems.extend(missing_problems(chans, problems, people))
    return Assignment(tuple(chans), tuple(problems), people)


def explain(assignment: Assignment, streams: list[StreamDescription]) -> str:
    """One line saying what is missing, what was found and how to map it."""
    if not assignment.problems:
        return ""
    found = "; ".join(f"{s.name} [{s.type}] sid={s.source_id or '-'}" for s in streams) or "none"
    how = " ".join(f"--role {r}=GLOB" for r in assignment.people)
    return (
        f"stream assignment incomplete: {assignment.problem_text}. Streams found: {found}. "
        f"Map them with {how} or --map FILE.toml"
    )
