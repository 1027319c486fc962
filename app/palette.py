"""Role colours shared by every view (console, patient screen, review, HTML report).

Okabe-Ito colour-blind-safe palette: patient blue, clinician orange, everywhere the same.
"""

ROLE_COLOURS = {"patient": "#0072B2", "clinician": "#E69F00"}
