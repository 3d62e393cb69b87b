"""Feed and import text on screen: data, never markup.

Qt guesses rich text in labels and tooltips (Qt.mightBeRichText), so a title of
'<img src="file:///etc/passwd">' would load the file and '<a href>' become a live link; a
100k-character title with no space in it would widen a label past its panel. Every panel
that puts feed text into a tooltip or into its own rich text goes through these helpers.
"""

from __future__ import annotations

import html

# Feed and import text is data, never markup. Qt guesses rich text in labels and tooltips
# (Qt.mightBeRichText), so a title of '<img src="file:///etc/passwd">' would load the file;
# and a 100k-character title with no space in it would widen a label past its panel. These
# helpers make a field safe to put inside the panels' own (escaped) rich text.

FIELD_CHARS = 400  # more than this of one field is cut, with an ellipsis
_BREAK_EVERY = 40  # an unbroken run longer than this gets a zero-width break chance


def clip(text: str, limit: int = FIELD_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def breakable(text: str) -> str:
    """Let word wrap break very long runs without spaces (URLs, pasted garbage)."""
    out: list[str] = []
    run = 0
    for ch in text:
        out.append(ch)
        run = 0 if ch.isspace() else run + 1
        if run >= _BREAK_EVERY:
            out.append("\u200b")
            run = 0
    return "".join(out)


def isolate(text: str) -> str:
    """Wrap in a bidi isolate (FSI..PDI) so an RTL override in the data cannot reverse
    what the panel prints after it."""
    return f"\u2068{text}\u2069" if text else text


def field_html(text: str, limit: int = FIELD_CHARS) -> str:
    """A feed field as escaped, clipped, breakable, bidi-isolated HTML text."""
    return html.escape(isolate(breakable(clip(text, limit))))


def plain_tooltip(text: str, limit: int = 2000) -> str:
    """A tooltip that shows ``text`` literally: escaped inside rich text that keeps its
    newlines, so Qt's guess cannot turn data into markup."""
    return "<p style='white-space:pre-wrap'>" + html.escape(isolate(clip(text, limit))) + "</p>"
