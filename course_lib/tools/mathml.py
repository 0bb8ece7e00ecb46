"""LaTeX math in Markdown cells as MathML, converted at build time (site and slides).

Browsers draw MathML themselves, so the built pages need no script and nothing from the
network. The Markdown is parsed by nbconvert's own math-aware parser (``$…$``, ``$$…$$``,
``\\(…\\)``, ``\\[…\\]``, ``\\begin{env}…\\end{env}``), which takes each formula out before any
Markdown rule runs: ``_`` and ``*`` inside a formula are never read as emphasis, and dollar
signs in code spans and code blocks stay as they are. One rule is stricter than Jupyter's
(it is pandoc's): inline ``$…$`` must not start or end with a space and the closing ``$``
must not be followed by a digit, so prose such as "costs $5 or $10" stays text.

- :func:`to_mathml` converts one formula (``latex2mathml``) and refuses anything it cannot
  render: a parse error or an unknown command is a :class:`MathError` naming the formula.
- :func:`markdown_to_html` renders Markdown with every formula as a ``<math>`` element.
- :func:`formulas` lists the formulas of a Markdown text (what the checks convert).
"""

from __future__ import annotations

import html
import re
from typing import Any

from latex2mathml.converter import convert
from nbconvert.filters.markdown_mistune import (
    IPythonRenderer,
    MarkdownWithMath,
    MathInlineParser,
)
from nbconvert.filters.strings import _convert_header_id

#: Inline ``$…$`` as pandoc reads it: no space inside either dollar, no digit after the closing
#: one, and never ``$$``; a backslash-escaped ``\\$`` is a dollar sign.
INLINE_DOLLAR_MATH = (
    r"(?<![$\\])\$(?=[^\s$])(?P<math_inline_tex>(?:[^$\\]|\\[\s\S])+?)(?<!\s)\$(?!\d)"
)
_MATH_ELEMENT = re.compile(r'<math alttext="([^"]*)".*?</math>', re.S)
_UNKNOWN_COMMAND = re.compile(r"<m\w+[^>]*>(\\[A-Za-z]+)</m\w+>")
_VARIANT_ELEMENT = re.compile(
    r'<(mi|mn|mo|mtext)([^>]*?) mathvariant="([a-z-]+)"([^>]*)>([^<]*)</\1>'
)
#: Unicode code points of "A", "a" and "0" in each mathematical alphabet (MathML Core, which
#: Chromium follows, draws ``mathvariant`` only as "normal": the letters must be the symbols).
_ALPHABETS = {
    "bold": (0x1D400, 0x1D41A, 0x1D7CE),
    "script": (0x1D49C, 0x1D4B6, None),
    "fraktur": (0x1D504, 0x1D51E, None),
    "double-struck": (0x1D538, 0x1D552, 0x1D7D8),
    "sans-serif": (0x1D5A0, 0x1D5BA, 0x1D7E2),
    "monospace": (0x1D670, 0x1D68A, 0x1D7F6),
}
#: Letters that Unicode encoded before the mathematical alphabets (holes in those blocks).
_LETTERLIKE = {
    "script": dict(zip("BEFHILMRego", "ℬℰℱℋℐℒℳℛℯℊℴ", strict=True)),
    "fraktur": dict(zip("CHIRZ", "ℭℌℑℜℨ", strict=True)),
    "double-struck": dict(zip("CHNPQRZ", "ℂℍℕℙℚℝℤ", strict=True)),
}


class MathError(ValueError):
    """A formula that cannot be rendered; the message quotes it."""


def _styled(text: str, variant: str) -> str | None:
    """``text`` in the mathematical alphabet ``variant``, or None when one has no symbol."""
    capital, small, digit = _ALPHABETS[variant]
    result = []
    for char in html.unescape(text):
        if char in _LETTERLIKE.get(variant, {}):
            result.append(_LETTERLIKE[variant][char])
        elif "A" <= char <= "Z":
            result.append(chr(capital + ord(char) - ord("A")))
        elif "a" <= char <= "z":
            result.append(chr(small + ord(char) - ord("a")))
        elif "0" <= char <= "9" and digit is not None:
            result.append(chr(digit + ord(char) - ord("0")))
        elif char.isspace():
            result.append(char)
        else:
            return None
    return "".join(result)


def _use_math_alphabets(mathml: str) -> str:
    """Replace ``mathvariant="double-struck"`` (etc.) letters by the Unicode symbols."""

    def replace(match: re.Match) -> str:
        tag, before, variant, after, text = match.groups()
        styled = _styled(text, variant) if variant in _ALPHABETS else None
        if styled is None:
            return match.group(0)
        # a single styled letter must not be slanted again by the <mi> default
        normal = ' mathvariant="normal"' if tag == "mi" else ""
        return f"<{tag}{before}{normal}{after}>{html.escape(styled, quote=False)}</{tag}>"

    return _VARIANT_ELEMENT.sub(replace, mathml)


def to_mathml(latex: str, display: bool = False) -> str:
    """One LaTeX formula (without its ``$`` delimiters) as a MathML ``<math>`` element.

    Raises :class:`MathError` for a formula that does not parse or uses a command the
    converter does not know (it would otherwise show the command as text)."""
    source = latex.strip()
    if not source:
        raise MathError("empty formula")
    try:
        mathml = convert(source, display="block" if display else "inline")
    except Exception as error:  # latex2mathml raises many kinds, some bare
        name = type(error).__name__
        raise MathError(f"cannot render the formula ${source}$: {name} {error}".strip()) from error
    unknown = sorted(set(_UNKNOWN_COMMAND.findall(mathml)))
    if unknown:
        raise MathError(f"cannot render the formula ${source}$: unknown command {unknown[0]}")
    mathml = _use_math_alphabets(mathml)
    alt = html.escape(" ".join(source.split()))
    return mathml.replace("<math ", f'<math alttext="{alt}" ', 1)


class CourseMathInlineParser(MathInlineParser):
    """nbconvert's inline math parser with pandoc's rule for ``$…$`` (see the module)."""

    SPECIFICATION = {**MathInlineParser.SPECIFICATION, "inline_math_tex": INLINE_DOLLAR_MATH}


class MathMLRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer that writes each formula as MathML."""

    def block_math(self, body: str) -> str:
        return to_mathml(body, display=True)

    def inline_math(self, body: str) -> str:
        return to_mathml(body, display=False)

    def latex_environment(self, name: str, body: str) -> str:
        return to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)

    def heading(self, text: str, level: int, **attrs: Any) -> str:
        """A heading with its anchor; nbconvert's XML round trip would mangle MathML
        (``<ns0:math>``), so a heading with math gets its id here, from the text with each
        formula written ``$…$`` (the id nbconvert gives it without MathML)."""
        if "<math " not in text or self.exclude_anchor_links:
            return super().heading(text, level, **attrs)
        plain = _MATH_ELEMENT.sub(lambda match: f"${html.unescape(match.group(1))}$", text)
        anchor = _convert_header_id(html.unescape(re.sub(r"<[^>]+>", "", plain)))
        link = html.escape(anchor)
        return (
            f'<h{level} id="{link}">{text}<a class="anchor-link" href="#{link}">'
            f"{self.anchor_link_text}</a></h{level}>\n"
        )


def markdown_to_html(source: str, **renderer_options: Any) -> str:
    """Markdown ``source`` as HTML with MathML formulas; ``renderer_options`` go to nbconvert's
    renderer (``attachments``, ``embed_images``, ``path``, anchor-link settings)."""
    renderer = MathMLRenderer(escape=False, **renderer_options)
    parser = MarkdownWithMath(renderer=renderer, inline=CourseMathInlineParser(hard_wrap=False))
    return parser.render(source)


class _Collector(IPythonRenderer):
    def __init__(self) -> None:
        super().__init__(escape=False)
        self.found: list[tuple[str, bool]] = []

    def block_math(self, body: str) -> str:
        self.found.append((body, True))
        return ""

    def inline_math(self, body: str) -> str:
        self.found.append((body, False))
        return ""

    def latex_environment(self, name: str, body: str) -> str:
        self.found.append((f"\\begin{{{name}}}{body}\\end{{{name}}}", True))
        return ""


def formulas(source: str) -> list[tuple[str, bool]]:
    """Every formula in Markdown ``source`` as (LaTeX, whether it is display math)."""
    collector = _Collector()
    MarkdownWithMath(renderer=collector, inline=CourseMathInlineParser(hard_wrap=False)).render(
        source
    )
    return collector.found
