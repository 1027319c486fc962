"""Role colours shared by every view (console, patient screen, review, HTML report).

Okabe-Ito colour-blind-safe palette: patient blue, clinician orange, everywhere the same;
the other people of a group take the palette's other colours in their order.
"""

ROLE_COLOURS = {"patient": "#0072B2", "clinician": "#E69F00"}
#: Okabe-Ito after blue and orange (yellow last: weak on white), then black.
OTHER_COLOURS = ("#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#F0E442", "#999999")


def person_colours(people: tuple[str, ...] | list[str]) -> dict[str, str]:
    """A colour per person: patient and clinician as everywhere, the others in order."""
    out = {p: ROLE_COLOURS[p] for p in people if p in ROLE_COLOURS}
    rest = iter(c for c in (*ROLE_COLOURS.values(), *OTHER_COLOURS) if c not in out.values())
    for p in people:
        if p not in out:
            out[p] = next(rest)
    return out
