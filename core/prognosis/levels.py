"""How a categorical level is shown in a form: one spelling per meaning, whatever the data's coding.

The data sets code yes/no in several ways ("0"/"1" in one column, "No"/"Yes" or "no"/"yes" in
others), and some levels are raw codes ("Govt_job"). A form that shows them as they are offers
"yes" next to "Yes"; ``level_label`` gives every level one human spelling, while the form still
returns the model's own code.
"""

from __future__ import annotations

from collections.abc import Sequence

BINARY_CODES = {"0": "No", "1": "Yes"}


def level_label(level: str, levels: Sequence[str] = ()) -> str:
    """The label shown for ``level`` (a code of a field whose codes are ``levels``).

    ``0``/``1`` of a field coded exactly {0, 1} read "No"/"Yes"; any other level gets
    underscores as spaces and a capital first letter ("never smoked" -> "Never smoked").
    """
    if set(levels) == set(BINARY_CODES) and level in BINARY_CODES:
        return BINARY_CODES[level]
    text = str(level).replace("_", " ").strip()
    return text[:1].upper() + text[1:]
