"""Text from the data on its way into HTML or Markdown: the one place where it is escaped.

Leaflet inserts tooltip, popup and divIcon strings as HTML, and `st.markdown(...,
unsafe_allow_html=True)` runs event-handler attributes (MAP-NOTES.md).  Names and texts arrive
through imports, user administration and the workflow, so a township named `<img onerror=…>`
would run its script in every operator's signed-in page.  Every label, tooltip and HTML cell is
therefore built from `html_text` parts: markupsafe's `Markup` remembers what is already escaped,
so `Markup("<td>{}</td>").format(name)` escapes `name` and nothing else.  Text stays readable:
`<b>` in a name shows as `<b>`.  Nor may text become a template: see JINJA_OPENER.

Services return plain text; a label of several lines separates them with LINE_BREAK, which
becomes `<br>` here, after escaping.
"""

from __future__ import annotations

import json
import math
import re

import pandas as pd
from markupsafe import Markup, escape

from services.labels import LINE_BREAK

BR = Markup("<br>")
# Markdown (st.markdown, captions, button labels) gives meaning to these anywhere in a line
# (Streamlit adds `$` for LaTeX), and to a few more at the start of a line (headings, lists,
# quotes); a backslash before any ASCII punctuation makes it literal.
MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>!$~&|])")
MARKDOWN_LINE_START = re.compile(r"^(\s*)([#+=-]|\d+(?=[.)]))", re.MULTILINE)
# JSON written into a <script> element: `</script>` or `<!--` inside a string must not end it.
SCRIPT_UNSAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)
# branca reads every rendered map script again as a Jinja template (MacroElement.render wraps it in
# Element(text)), and Jinja is not sandboxed: `{{ … }}`, `{% … %}` or `{# … #}` from the data would
# run on the server.  So no text from the data leaves here with a brace that opens one: in HTML a
# brace is written `&#123;`; in JSON such a brace can only stand inside a string (an object's `{`
# is followed by `"` or `}`), where `\u007b` is the same character.
JINJA_OPENER = re.compile(r"\{(?=[{%#])")


def _plain(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def html_text(value: object) -> Markup:
    """`value` (any text from the data) as HTML that shows it literally; its lines are kept."""
    return BR.join(Markup(str(escape(line)).replace("{", "&#123;")) for line in _plain(value).split(LINE_BREAK))


def html_column(values: pd.Series) -> pd.Series:
    """`html_text` of every value, for a GeoJSON property the browser inserts as HTML."""
    return values.map(lambda value: str(html_text(value)))


def markdown_text(value: object) -> str:
    """`value` for a Markdown string (st.markdown, st.caption, a label): shown as written,
    not as bold, links or HTML; lines are kept."""
    text = MARKDOWN_INLINE.sub(r"\\\1", _plain(value))
    text = MARKDOWN_LINE_START.sub(lambda m: m[1] + (m[2] + "\\" if m[2].isdigit() else "\\" + m[2]), text)
    return text.replace(LINE_BREAK, "  \n")


def script_json(value: object) -> str:
    """Compact JSON of `value` that is safe inside an inline <script>, whatever its strings hold."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(SCRIPT_UNSAFE)
    return JINJA_OPENER.sub(r"\\u007b", text)
