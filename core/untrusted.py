"""Upstream text is untrusted: clean it, cap it, and make it inert Markdown.

A provider's reply, model id, name, description or error text may carry
control characters, bidi overrides, Markdown images that make the browser
fetch a URL, links that hide their target, or backticks that break out of a
code span. Everything shown from upstream goes through one of these:

- :func:`clean_text` for terminals and plain widgets (controls out, length capped);
- :func:`code_span` for an id inside our own Markdown (a code span nothing escapes);
- :func:`plain_markdown` for names and error text inside our own Markdown (every
  Markdown-significant character escaped, autolinks and shortcodes broken);
- :func:`safe_reply_markdown` for replies: formatting kept, but the output's only
  active constructs are the ones written here (emphasis, lists, headings, tables,
  code), so no image loads, links show their target as code, raw HTML stays text.
  It is safe on any prefix of a reply, so :func:`safe_stream` can re-render a
  stream as it arrives.

Streamlit's Markdown (react-markdown + GFM) also turns bare ``http://``, ``www.``
and e-mail text into links, ``:name:`` into emoji or icons, ``:color[..]`` into
styled text and ``$..$`` into LaTeX; a word joiner (U+2060, invisible) after
``:``, ``@`` and ``www`` stops the first three, an escape stops ``$``.
"""

from core.plain_text import (
    MAX_DESCRIPTION,
    MAX_ERROR,
    MAX_ID,
    MAX_NAME,
    MAX_REPLY,
    MAX_URL,
    WORD_JOINER,
    clean_text,
    code_span,
    plain_markdown,
    url_code,
    usable_model_id,
    usable_models,
)
from core.safe_markdown import safe_reply_markdown, safe_stream

__all__ = [
    "MAX_DESCRIPTION",
    "MAX_ERROR",
    "MAX_ID",
    "MAX_NAME",
    "MAX_REPLY",
    "MAX_URL",
    "WORD_JOINER",
    "clean_text",
    "code_span",
    "plain_markdown",
    "safe_reply_markdown",
    "safe_stream",
    "url_code",
    "usable_model_id",
    "usable_models",
]
