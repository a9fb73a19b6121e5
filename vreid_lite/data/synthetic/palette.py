"""VeRi-776's vehicle types and colours (names and 1-based ids as in its ``list_type.txt`` and
``list_color.txt``) and the BGR paint the renderer uses for each colour."""
from __future__ import annotations

TYPE_NAMES = ("sedan", "suv", "van", "hatchback", "mpv", "pickup", "bus", "truck", "estate")
"""Index ``i`` is VeRi typeID ``i + 1``."""

COLOR_NAMES = ("yellow", "orange", "green", "gray", "red", "blue", "white", "golden", "brown", "black")
"""Index ``i`` is VeRi colorID ``i + 1``."""

COLOR_BGR = {
    "yellow": (30, 200, 235),
    "orange": (20, 120, 235),
    "green": (60, 140, 40),
    "gray": (135, 130, 128),
    "red": (40, 35, 195),
    "blue": (170, 85, 30),
    "white": (235, 235, 232),
    "golden": (70, 165, 200),
    "brown": (40, 70, 110),
    "black": (38, 36, 35),
}

TYPE_WEIGHTS = {"sedan": 10, "suv": 5, "hatchback": 3, "mpv": 2, "van": 2, "pickup": 1.5,
                "estate": 1.5, "truck": 1.5, "bus": 1}
"""Default type frequencies: skewed (like VeRi, mostly sedans) so identities often share a type."""

COLOR_WEIGHTS = {"white": 8, "black": 6, "gray": 5, "red": 3, "blue": 3, "yellow": 1.5,
                 "green": 1, "brown": 1, "golden": 1, "orange": 0.8}
"""Default colour frequencies: skewed so many identities share type and colour."""


def id_list_text(names: tuple[str, ...]) -> str:
    """``"1 sedan\\n2 suv\\n…"`` — the VeRi list format (LF, no final newline, as released)."""
    return "\n".join(f"{i} {name}" for i, name in enumerate(names, start=1))
