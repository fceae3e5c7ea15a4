"""The terminal renderer: plain Unicode text, readable at 100 columns.

Colour (ANSI) only when asked, which the command does only for a terminal.
"""

from __future__ import annotations

import textwrap

from .notation import fmt_cell, fmt_number, to_unicode
from .records import Block, Claim, Equation, NetworkFigure, Prose, Records, Step, Table

INDENT = "  "
FAILURE_NOTE = (
    "A wrong derivative shows ✗ on every entry it touches. A lone ✗ on an entry many orders of "
    "magnitude smaller than its neighbours can be the finite difference's own error (about "
    "1e−13), which the relative difference magnifies; at a kink of relu it can be the kink."
)
_BOLD, _GREEN, _RED, _DIM, _RESET = "\033[1m", "\033[32m", "\033[31m", "\033[2m", "\033[0m"


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def _wrap(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.color else text

    def bold(self, text: str) -> str:
        return self._wrap(_BOLD, text)

    def dim(self, text: str) -> str:
        return self._wrap(_DIM, text)

    def mark(self, ok: bool) -> str:
        return self._wrap(_GREEN, "✓") if ok else self._wrap(_RED, "✗")


def render(expl: Records, *, width: int = 100, color: bool = False, digits: int = 6) -> str:
    """The whole explanation as text lines of at most ``width`` columns (long equations wrap)."""
    if width < 40:
        raise ValueError(f"width must be at least 40 columns, got {width}")
    st = _Style(color)
    cfg = expl.config
    title = "deltaprop explain: backpropagation, worked with numbers"
    out = [st.bold(title), "═" * min(width, len(title))]
    out += _para(
        "Each step: the equation in the notation of UFLDL's backpropagation tutorial, the same "
        "equation with its numbers, the result. Every "
        "δ and every partial derivative stands beside its finite-difference value; ✓ means a "
        f"relative difference below {fmt_number(cfg['threshold'], 2)}. All numbers come from the "
        "functions "
        "deltaprop trains with.",
        width,
        "",
    )
    for number, section in enumerate(expl.sections, start=1):
        heading = f"{number}. {section.title}"
        out += ["", st.bold(heading), "─" * len(heading)]
        previous: Block | None = None
        for block in section.blocks:
            lines = _block(block, width, digits, st)
            if not lines:
                continue
            if previous is not None and not (
                isinstance(block, Step) and isinstance(previous, Step)
            ):
                out.append("")
            out += lines
            previous = block
    checked = expl.checked
    bad = [s for s in checked if s.check is not None and not s.check.ok]
    failed_claims = [c for c in expl.claims if not c.holds]
    out += ["", st.bold("Summary"), "───────"]
    worst = max((s.check.relative_difference for s in checked if s.check is not None), default=0.0)
    out.append(
        f"{st.mark(not bad)} {len(checked) - len(bad)} of {len(checked)} derivatives agree with "
        f"their finite differences (largest relative difference {fmt_number(worst, 2)})"
    )
    if bad:
        out += _para(FAILURE_NOTE, width, "  ")
    if expl.claims:
        out.append(
            f"{st.mark(not failed_claims)} {len(expl.claims) - len(failed_claims)} of "
            f"{len(expl.claims)} claims of the experiments hold on their own numbers"
        )
    return "\n".join(out) + "\n"


def _para(text: str, width: int, indent: str) -> list[str]:
    return textwrap.wrap(
        text, width=width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    )


def _block(block: Block, width: int, digits: int, st: _Style) -> list[str]:
    if isinstance(block, Prose):
        return _para(block.text, width, "")
    if isinstance(block, Equation):
        return _wrap_eq(INDENT + to_unicode(block.expr, digits), width, INDENT + "    ")
    if isinstance(block, Step):
        return _step(block, width, digits, st)
    if isinstance(block, Table):
        return _table(block, width, digits)
    if isinstance(block, Claim):
        head = f"{INDENT}{st.mark(block.holds)} "
        lines = _para(block.text, width, INDENT + "  ")
        lines[0] = head + lines[0][len(INDENT) + 2 :]
        if block.evidence:
            lines += [st.dim(line) for line in _para(block.evidence, width, INDENT + "    ")]
        return lines
    if isinstance(block, NetworkFigure):
        return []  # the terminal has the sections' numbers; the drawing is in the HTML page
    raise TypeError(f"unknown block {block!r}")


def _step(step: Step, width: int, digits: int, st: _Style) -> list[str]:
    eq = to_unicode(step.equation, digits)
    value = fmt_number(step.value, digits)
    numbers = to_unicode(step.numbers, digits)
    parts = [eq]
    if step.shows_numbers(digits):
        parts.append(numbers)
    parts.append(value)
    suffix = ""
    if step.check is not None:
        c = step.check
        suffix = (
            f"   {st.mark(c.ok)} finite difference {fmt_number(c.numeric, digits)}, "
            f"rel. diff. {fmt_number(c.relative_difference, 2)}"
        )
    note = f"   ({step.note})" if step.note else ""
    one_line = INDENT + " = ".join(parts)
    visible = len(one_line) + _visible_len(suffix) + len(note)
    if visible <= width:
        return [one_line + suffix + note]
    # One line per part, the "=" of each continuation under the equation's first "=".
    align = eq.find(" = ")
    pad = INDENT + " " * (align if 0 <= align < width // 2 else 4)
    lines = _wrap_eq(INDENT + eq, width, pad + "   ")
    for part in parts[1:]:
        lines += _wrap_eq(pad + " = " + part, width, pad + "   ")
    if suffix or note:
        if _visible_len(lines[-1] + suffix + note) <= width:
            lines[-1] += suffix + note
        else:
            lines += [pad + "   " + part.strip() for part in (suffix, note) if part]
    return lines


def _visible_len(text: str) -> int:
    """Length without ANSI colour codes."""
    for code in (_BOLD, _GREEN, _RED, _DIM, _RESET):
        text = text.replace(code, "")
    return len(text)


def _wrap_eq(line: str, width: int, continuation: str) -> list[str]:
    """Break a long equation before a top-level " + ", " − " or " = "."""
    if len(line) <= width:
        return [line]
    out: list[str] = []
    rest = line
    while len(rest) > width:
        cut = -1
        for op in (" + ", " − ", " = ", " · ", ", "):
            pos = rest.rfind(op, len(continuation) + 1, width)
            cut = max(cut, pos)
        if cut <= len(continuation):
            break
        out.append(rest[:cut])
        rest = continuation + rest[cut:].lstrip()
    out.append(rest)
    return out


def _table(table: Table, width: int, digits: int) -> list[str]:
    cells = [[fmt_cell(v, digits) for v in row] for row in table.rows]
    ncol = len(table.columns)
    widths = [max([len(table.columns[c])] + [len(r[c]) for r in cells]) for c in range(ncol)]
    headers = [[h] for h in table.columns]
    total = len(INDENT) + sum(widths) + 2 * (ncol - 1)
    if total > width:  # wrap the headers to the width of their column's numbers
        for c in range(ncol):
            data = max([len(r[c]) for r in cells], default=0)
            target = max(data, 10)
            if len(table.columns[c]) > target:
                headers[c] = textwrap.wrap(table.columns[c], target) or [""]
                widths[c] = max([data] + [len(h) for h in headers[c]])
    lines = []
    if table.caption:
        lines += _para(table.caption, width, INDENT)
    depth = max(len(h) for h in headers)
    for row in range(depth):
        texts = []
        for c in range(ncol):
            h = headers[c][row] if row < len(headers[c]) else ""
            texts.append(h.ljust(widths[c]) if c == 0 else h.rjust(widths[c]))
        lines.append((INDENT + "  ".join(texts)).rstrip())
    for r in cells:
        texts = [r[c].ljust(widths[c]) if c == 0 else r[c].rjust(widths[c]) for c in range(ncol)]
        lines.append((INDENT + "  ".join(texts)).rstrip())
    return lines
