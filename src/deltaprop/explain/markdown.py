"""The Markdown renderer: prose as text, math as LaTeX ($…$ inline, $$…$$ displayed).

Runs of steps become one table (equation, with numbers, result, finite
difference, relative difference, ✓/✗), which GitHub and Jupyter render with
their math support.
"""

from __future__ import annotations

from collections.abc import Sequence

from .notation import fmt_cell, fmt_number, to_latex
from .records import Block, Claim, Equation, NetworkFigure, Prose, Records, Step, Table


def render(expl: Records, *, digits: int = 6) -> str:
    """The whole explanation as one Markdown document."""
    cfg = expl.config
    out = [
        "# deltaprop explain: backpropagation, worked with numbers",
        "",
        f"Network {'-'.join(map(str, cfg['layers']))}, {cfg['activation']} hidden units, "
        f"{cfg['output_activation']} output, cost `{cfg['cost']}`, λ = {cfg['weight_decay']:g}, "
        f"α = {cfg['learning_rate']:g}, m = {cfg['m']}, seed {cfg['seed']}. Every δ and every "
        f"partial derivative stands beside its finite-difference value; ✓ means a relative "
        f"difference below {fmt_number(cfg['threshold'], 2)}.",
    ]
    for number, section in enumerate(expl.sections, start=1):
        out += ["", f"## {number}. {section.title}", ""]
        run: list[Step] = []
        for block in section.blocks:
            if isinstance(block, Step):
                run.append(block)
                continue
            if run:
                out += [*_steps(run, digits), ""]
                run = []
            lines = _block(block, digits)
            if lines:
                out += [*lines, ""]
        if run:
            out += [*_steps(run, digits), ""]
        while out and out[-1] == "":
            out.pop()
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    """Text that stays one cell of a Markdown table: a | escaped, no line break."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _row(cells: Sequence[str]) -> str:
    """One row of a Markdown table, every cell escaped."""
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _cellsafe(latex: str) -> str:
    """LaTeX that survives inside a Markdown table cell (no bare |)."""
    return latex.replace(r"\|", r"\Vert ").replace("|", r"\vert ")


def _steps(steps: list[Step], digits: int) -> list[str]:
    lines = [
        "| equation | with numbers | result | finite difference | rel. diff. | |",
        "|---|---|---:|---:|---:|:-:|",
    ]
    for s in steps:
        eq = _cellsafe(to_latex(s.equation, digits))
        numbers = f"$= {_cellsafe(to_latex(s.numbers, digits))}$" if s.shows_numbers(digits) else ""
        c = s.check
        fd = fmt_number(c.numeric, digits) if c else ""
        rel = fmt_number(c.relative_difference, 2) if c else ""
        mark = c.mark if c else ""
        note = f" ({s.note})" if s.note else ""
        lines.append(
            f"| ${eq}$ | {numbers} | {fmt_number(s.value, digits)}{_cell(note)} | {fd} | {rel} | "
            f"{mark} |"
        )
    return lines


def _block(block: Block, digits: int) -> list[str]:
    if isinstance(block, Prose):
        return [block.text]
    if isinstance(block, Equation):
        return [f"$${to_latex(block.expr, digits)}$$"]
    if isinstance(block, Table):
        lines = [f"*{block.caption}*", ""] if block.caption else []
        lines.append(_row(block.columns))
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(block.columns) - 1)) + "|")
        for row in block.rows:
            lines.append(_row([fmt_cell(v, digits) for v in row]))
        return lines
    if isinstance(block, Claim):
        evidence = f" ({block.evidence})" if block.evidence else ""
        return [f"- {block.mark} **{block.text}**{evidence}"]
    if isinstance(block, NetworkFigure):
        return []
    raise TypeError(f"unknown block {block!r}")
