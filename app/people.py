"""The people of a session (2-8): their role names, colours and the pairs that matter.

Qt-free; the console, review, report and command line all read the same model.

* **Names** are the role names of :mod:`devices.assign` (``patient``, ``clinician``,
  ``partner``, ``cotherapist`` ... any one word), in the session's order
  (:attr:`devices.assign.Assignment.people`).
* **Colours** come from the Okabe-Ito colour-blind-safe palette (Okabe & Ito 2008): the
  patient is always blue and the clinician always orange, as in every two-person view; the
  other people take the remaining colours in their order (reddish purple, bluish green, sky
  blue, vermilion, yellow, grey; black is replaced by grey so it shows on a dark theme).
* **Pairs** are ``(a, b)`` with ``a`` before ``b`` in the people's order (``a`` takes the
  patient's place of the dyad functions: a positive lag means ``b`` follows ``a``). The pairs
  that matter are declared (``--pairs a-b,c-b`` or a map file's ``pairs = ["a-b"]``), or by
  default every pair, the clinician's pairs first. The clinician is the person named
  ``clinician``, else the first whose name contains clinician, therapist or practitioner
  (``cotherapist`` too), else nobody (then every pair in the people's order).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from devices.assign import MAX_PEOPLE, MIN_PEOPLE, ROLE_WORDS, ROLES, MapError, role_name

__all__ = [
    "PALETTE",
    "People",
    "Person",
    "clinician_of",
    "default_pairs",
    "parse_pairs",
    "people_model",
]

#: Okabe-Ito, in the order people take them (patient blue and clinician orange are fixed).
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#CC79A7",  # reddish purple
    "#009E73",  # bluish green
    "#56B4E9",  # sky blue
    "#D55E00",  # vermilion
    "#F0E442",  # yellow
    "#999999",  # grey (Okabe-Ito's black, visible on a dark theme)
)
_FIXED = {"patient": PALETTE[0], "clinician": PALETTE[1]}


@dataclass(frozen=True)
class Person:
    """One person of the session.

    Attributes
    ----------
    role : str
        Role name (lowercase word).
    colour : str
        ``#RRGGBB`` from :data:`PALETTE`.
    index : int
        Position in the session's order (0-based).
    """

    role: str
    colour: str
    index: int

    @property
    def title(self) -> str:
        """The name as a heading ('Patient', 'Cotherapist')."""
        return self.role.replace("_", " ").capitalize()


@dataclass(frozen=True)
class People:
    """The people of a session and the pairs that matter.

    Attributes
    ----------
    persons : tuple of Person
        In the session's order.
    pairs : tuple of (str, str)
        The pairs that matter, in display order; each ``(a, b)`` with ``a`` before ``b`` in
        the people's order.
    declared : bool
        True when the pairs were declared; False for the default (every pair, the
        clinician's first).
    """

    persons: tuple[Person, ...]
    pairs: tuple[tuple[str, str], ...]
    declared: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.role for p in self.persons)

    def __len__(self) -> int:
        return len(self.persons)

    def person(self, role: str) -> Person:
        for p in self.persons:
            if p.role == role:
                return p
        raise KeyError(f"{role!r} is not a person of this session ({', '.join(self.names)})")

    def colour(self, role: str) -> str:
        return self.person(role).colour

    @property
    def clinician(self) -> str | None:
        """The clinician (see the module docstring), or None."""
        return clinician_of(self.names)

    @property
    def is_dyad(self) -> bool:
        """Exactly the two default roles (every two-person view applies unchanged)."""
        return self.names == ROLES

    @property
    def all_pairs(self) -> tuple[tuple[str, str], ...]:
        """Every pair in the people's order."""
        return tuple(itertools.combinations(self.names, 2))

    @property
    def first_pair(self) -> tuple[str, str]:
        """The pair shown first (the big meter's default): the first pair that matters."""
        return self.pairs[0]


def clinician_of(names: Sequence[str]) -> str | None:
    """The clinician among ``names``: 'clinician', else the first name containing a clinician
    word (clinician, therapist, practitioner), else None."""
    if "clinician" in names:
        return "clinician"
    words = ROLE_WORDS["clinician"]
    return next((n for n in names if any(w in n for w in words)), None)


def _ordered(a: str, b: str, names: Sequence[str]) -> tuple[str, str]:
    return (a, b) if names.index(a) < names.index(b) else (b, a)


def default_pairs(names: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Every pair, the clinician's pairs first (each group in the people's order)."""
    every = list(itertools.combinations(names, 2))
    c = clinician_of(names)
    if c is None:
        return tuple(every)
    return tuple([p for p in every if c in p] + [p for p in every if c not in p])


def parse_pairs(items: Sequence[str], names: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``["partner-clinician", "patient-partner"]`` (or one comma-separated string per item)
    -> ordered pairs, in the order given.

    Raises
    ------
    MapError
        A pair that is not ``A-B`` of two different people of the session, or given twice.
    """
    out: list[tuple[str, str]] = []
    for item in items:
        for text in str(item).split(","):
            if not text.strip():
                continue
            a, sep, b = text.partition("-")
            if not sep:
                raise MapError(f"pair {text.strip()!r}: write it A-B (e.g. patient-clinician)")
            a, b = role_name(a, f"pair {text.strip()!r}"), role_name(b, f"pair {text.strip()!r}")
            unknown = [x for x in (a, b) if x not in names]
            if unknown:
                raise MapError(
                    f"pair {text.strip()!r}: {', '.join(unknown)} is not one of the people "
                    f"({', '.join(names)})"
                )
            if a == b:
                raise MapError(f"pair {text.strip()!r}: a pair is two different people")
            pair = _ordered(a, b, names)
            if pair in out:
                raise MapError(f"pair {text.strip()!r} is given twice")
            out.append(pair)
    return tuple(out)


def people_model(names: Sequence[str], pairs: Sequence[str] = ()) -> People:
    """The people model of a session.

    Parameters
    ----------
    names : sequence of str
        Role names in the session's order (2-8, distinct).
    pairs : sequence of str
        Declared pairs (``"a-b"`` items, see :func:`parse_pairs`); empty: the default.

    Raises
    ------
    MapError
        Fewer than 2 or more than 8 people, a repeated name, or a bad pair (one line).
    """
    names = tuple(role_name(n, "person") for n in names)
    if not MIN_PEOPLE <= len(names) <= MAX_PEOPLE:
        raise MapError(
            f"a session has {MIN_PEOPLE} to {MAX_PEOPLE} people, got {len(names)}"
            + (f" ({', '.join(names)})" if names else "")
        )
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise MapError(f"{', '.join(twice)} named twice: every person needs their own role name")
    free = iter(c for c in PALETTE if c not in {_FIXED[n] for n in names if n in _FIXED})
    persons = tuple(
        Person(n, _FIXED[n] if n in _FIXED else next(free), i) for i, n in enumerate(names)
    )
    declared = parse_pairs(pairs, names) if pairs else ()
    return People(persons, declared or default_pairs(names), bool(declared))
