"""The HTML renderer: one self-contained page, no scripts, no network access.

Math is MathML Core (which Chromium, Firefox and Safari render natively); the
network is inline SVG with z, a and δ on every unit and ∂J/∂W on every edge.
All styling is in one <style> element.
"""

from __future__ import annotations

import math
from html import escape

from .notation import Node, Num, Op, Row, fmt_cell, fmt_number, to_mathml, to_unicode
from .records import Block, Claim, Equation, NetworkFigure, Prose, Records, Section, Step, Table
from .text import FAILURE_NOTE

CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #d8dde6; --ok: #1a7f37; --bad: #c62828;
        --paper: #ffffff; --tint: #f5f7fb; --pos: #c0392b; --neg: #2563eb; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--tint); color: var(--ink);
       font: 16px/1.55 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 64px; background: var(--paper); }
h1 { font-size: 1.7em; margin: 0.2em 0 0.3em; }
h2 { font-size: 1.3em; margin: 2em 0 0.6em; padding-bottom: 0.2em;
     border-bottom: 2px solid var(--line); }
p { margin: 0.6em 0; max-width: 62em; }
.lead { color: var(--muted); }
nav ol { columns: 2; margin: 0.5em 0 0; padding-left: 1.4em; color: var(--muted); }
nav a { color: inherit; }
math { font-family: "DejaVu Serif", "STIX Two Math", "Latin Modern Math", serif;
       font-size: 1.08em; }
.equation { margin: 0.8em 0 0.8em 1.5em; overflow-x: auto; overflow-y: hidden; }
.step { display: flex; align-items: baseline; gap: 1.2em; padding: 0.35em 0.6em;
        border-left: 3px solid var(--line); margin: 0.25em 0; }
.step:nth-child(even) { background: #fafbfd; }
.step .math { flex: 1 1 auto; overflow-x: auto; overflow-y: hidden; padding: 0.15em 0; }
.step math { math-style: normal; }
.step .num { padding-left: 2.2em; }
.step .note { color: var(--muted); font-size: 0.85em; }
.check { flex: 0 0 17em; font-size: 0.85em; color: var(--muted); text-align: right; }
.check b { font-size: 1.25em; }
.ok b { color: var(--ok); }
.bad b { color: var(--bad); }
.bad { color: var(--bad); }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
p.caption { color: var(--muted); font-size: 0.9em; margin: 1em 0 0.2em; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid var(--line); }
th { text-align: right; font-weight: 600; }
td { text-align: right; font-variant-numeric: tabular-nums; }
th:first-child, td:first-child { text-align: left; }
.claim { margin: 0.5em 0; padding: 0.45em 0.8em; border-radius: 6px; background: #eef7f0; }
.claim.fails { background: #fdecec; }
.claim b.mark { font-size: 1.2em; margin-right: 0.4em; }
.claim .evidence { display: block; color: var(--muted); font-size: 0.88em; }
figure { margin: 1em 0; }
figcaption { color: var(--muted); font-size: 0.9em; }
svg text { font-family: "DejaVu Sans", Arial, sans-serif; }
.summary { margin-top: 2em; padding: 0.8em 1em; border: 1px solid var(--line);
           border-radius: 6px; }
"""


def render(expl: Records, *, digits: int = 6) -> str:
    """The whole explanation as one HTML document."""
    cfg = expl.config
    title = "Backpropagation, worked with numbers"
    intro = (
        f"Network {'-'.join(map(str, cfg['layers']))}, {cfg['activation']} hidden units, "
        f"{cfg['output_activation']} output, cost {cfg['cost']}, λ = {cfg['weight_decay']:g}, "
        f"α = {cfg['learning_rate']:g}, m = {cfg['m']}, seed {cfg['seed']}. Each step shows the "
        "equation in the notation of UFLDL's backpropagation tutorial, the same equation with "
        "its numbers, and the result. Beside every δ "
        "and every partial derivative stands the value measured by perturbation (a finite "
        "difference) and ✓ when the two agree to a relative difference below "
        f"{fmt_number(cfg['threshold'], 2)}. All numbers come from the functions deltaprop "
        "trains with."
    )
    toc = "".join(
        f'<li><a href="#{escape(s.id)}">{escape(s.title)}</a></li>' for s in expl.sections
    )
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="lead">{escape(intro)}</p>',
        f"<nav><ol>{toc}</ol></nav>",
    ]
    for number, section in enumerate(expl.sections, start=1):
        body.append(_section(number, section, digits))
    body.append(_summary(expl))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>deltaprop explain: {escape(title)}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def _section(number: int, section: Section, digits: int) -> str:
    parts = [f'<section id="{escape(section.id)}">', f"<h2>{number}. {escape(section.title)}</h2>"]
    parts += [_block(b, digits) for b in section.blocks]
    parts.append("</section>")
    return "\n".join(parts)


def _math(node: Node, digits: int, display: bool = False) -> str:
    mode = ' display="block"' if display else ""
    alt = escape(to_unicode(node, digits))
    return f'<math{mode} aria-label="{alt}">{to_mathml(node, digits)}</math>'


def _block(block: Block, digits: int) -> str:
    if isinstance(block, Prose):
        return f"<p>{escape(block.text)}</p>"
    if isinstance(block, Equation):
        return f'<div class="equation">{_math(block.expr, digits, display=True)}</div>'
    if isinstance(block, Step):
        return _step(block, digits)
    if isinstance(block, Table):
        return _table(block, digits)
    if isinstance(block, Claim):
        cls = "claim" if block.holds else "claim fails"
        evidence = (
            f'<span class="evidence">{escape(block.evidence)}</span>' if block.evidence else ""
        )
        return (
            f'<div class="{cls}"><b class="mark">{block.mark}</b>{escape(block.text)}'
            f"{evidence}</div>"
        )
    if isinstance(block, NetworkFigure):
        return _figure(block)
    raise TypeError(f"unknown block {block!r}")


def _step(step: Step, digits: int) -> str:
    value = Num(step.value, step.key)
    shown = step.shows_numbers(digits)
    rest: Node = Row(Op("="), step.numbers, Op("="), value) if shown else Row(Op("="), value)
    note = f' <span class="note">({escape(step.note)})</span>' if step.note else ""
    check = ""
    if step.check is not None:
        c = step.check
        cls = "ok" if c.ok else "bad"
        check = (
            f'<div class="check {cls}" title="move {escape(c.perturbed)} by ±{c.epsilon:g}, '
            f're-run the forward pass">finite difference {fmt_number(c.numeric, digits)}<br>'
            f"rel. diff. {fmt_number(c.relative_difference, 2)} <b>{c.mark}</b></div>"
        )
    return (
        f'<div class="step" id="{escape(step.key)}"><div class="math">'
        f"<div>{_math(step.equation, digits)}</div>"
        f'<div class="num">{_math(rest, digits)}{note}</div></div>{check}</div>'
    )


def _table(table: Table, digits: int) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(fmt_cell(v, digits))}</td>" for v in row) + "</tr>"
        for row in table.rows
    )
    caption = f'<p class="caption">{escape(table.caption)}</p>' if table.caption else ""
    return f"{caption}<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _summary(expl: Records) -> str:
    checked = expl.checked
    good = sum(1 for s in checked if s.check is not None and s.check.ok)
    held = sum(1 for c in expl.claims if c.holds)
    lines = [
        f"{'✓' if good == len(checked) else '✗'} {good} of {len(checked)} derivatives agree "
        "with their finite differences."
    ]
    if expl.claims:
        lines.append(
            f"{'✓' if held == len(expl.claims) else '✗'} {held} of {len(expl.claims)} claims of "
            "the experiments hold on their own numbers."
        )
    if good < len(checked):
        lines.append(FAILURE_NOTE)
    return '<div class="summary">' + "<br>".join(escape(line) for line in lines) + "</div>"


# --- the network drawing -------------------------------------------------------------------------

_BOX_W, _BOX_H, _ROW, _MARGIN = 150, 64, 118, 34


def _figure(fig: NetworkFigure) -> str:
    """The network as inline SVG: units carry z, a, δ; edges carry ∂J/∂W.

    Over 60 lines because it is one drawing: the layer titles, the edges with
    their labels and the unit boxes share the coordinates of ``pos`` and the
    drawing order (edges under boxes, labels on top).
    """
    n_layers = len(fig.sizes)
    width = 1040
    gap = (width - 2 * _MARGIN - _BOX_W) / max(n_layers - 1, 1)
    tallest = max(fig.sizes)
    height = 2 * _MARGIN + 30 + (tallest - 1) * _ROW + _BOX_H
    biggest = (
        max((abs(v) for dW in fig.weight_grads for row in dW for v in row), default=0.0) or 1.0
    )

    def pos(k: int, i: int) -> tuple[float, float]:
        x = _MARGIN + k * gap
        offset = (tallest - fig.sizes[k]) * _ROW / 2
        return x, _MARGIN + 30 + offset + i * _ROW

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        'aria-label="the network with z, a and δ on each unit and ∂J/∂W on each edge">'
    ]
    for k in range(n_layers):
        x, _ = pos(k, 0)
        name = "input" if k == 0 else ("output" if k == n_layers - 1 else "hidden")
        parts.append(
            f'<text x="{x + _BOX_W / 2:.1f}" y="{_MARGIN + 8}" text-anchor="middle" '
            f'font-size="14" font-weight="600" fill="#1d2330">layer {k + 1} ({name})</text>'
        )
    # Edges first, so the unit boxes sit on top of them.
    labels = []
    for k, dW in enumerate(fig.weight_grads):
        for i, row in enumerate(dW):
            for j, g in enumerate(row):
                x1, y1 = pos(k, j)
                x2, y2 = pos(k + 1, i)
                x1, y1 = x1 + _BOX_W, y1 + _BOX_H / 2
                y2 = y2 + _BOX_H / 2
                colour = "#c0392b" if g > 0 else "#2563eb"
                stroke = 0.8 + 3.2 * abs(g) / biggest
                name = f"∂J/∂W{_sub(i + 1, j + 1)}⁽{k + 1}⁾"
                parts.append(
                    f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                    f'stroke="{colour}" stroke-opacity="0.55" stroke-width="{stroke:.2f}">'
                    f"<title>{escape(name)} = {g!r}</title></line>"
                )
                # Labels of edges from source j sit at their own fraction of the way, so the
                # labels of different sources fall in different columns.
                t = 0.5 if len(row) == 1 else 0.2 + 0.6 * j / (len(row) - 1)
                lx, ly = x1 + t * (x2 - x1), y1 + t * (y2 - y1)
                angle = math.degrees(math.atan2(y2 - y1, x2 - x1))  # written along its edge
                labels.append(
                    f'<text x="{lx:.1f}" y="{ly + 4:.1f}" text-anchor="middle" font-size="11.5" '
                    f'transform="rotate({angle:.1f} {lx:.1f} {ly:.1f})" '
                    f'fill="{colour}" stroke="#fff" stroke-width="3.5" paint-order="stroke">'
                    f"{escape(fmt_number(g, 3))}<title>{escape(name)}</title></text>"
                )
    for k, size in enumerate(fig.sizes):
        for i in range(size):
            x, y = pos(k, i)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{_BOX_W}" height="{_BOX_H}" rx="10" '
                'fill="#ffffff" stroke="#1d2330" stroke-width="1.4"/>'
            )
            lines = _unit_lines(fig, k, i)
            top = y + (_BOX_H - 17 * len(lines)) / 2 + 13
            for n, line in enumerate(lines):
                parts.append(
                    f'<text x="{x + 10:.1f}" y="{top + 17 * n:.1f}" font-size="13" '
                    f'fill="#1d2330">{escape(line)}</text>'
                )
    parts += labels
    parts.append("</svg>")
    caption = (
        "Units show z (weighted input), a = f(z) (activation) and δ = ∂J/∂z (error term) of "
        "example 1; the number on each edge is ∂J/∂Wᵢⱼ⁽ˡ⁾ for the weight on that connection, "
        "red when positive (the step will lower that weight), blue when negative (it will raise "
        "it); thicker means larger."
    )
    return f"<figure>{''.join(parts)}<figcaption>{escape(caption)}</figcaption></figure>"


def _sub(*indices: int) -> str:
    text = ("," if any(i > 9 for i in indices) else "").join(map(str, indices))
    return text.translate(str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,"))


def _unit_lines(fig: NetworkFigure, k: int, i: int) -> list[str]:
    unit = _sub(i + 1)
    layer = "⁽" + str(k + 1).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")) + "⁾"
    a = fmt_number(fig.a[k][i], 4)
    z, delta = fig.z[k], fig.delta[k]
    if k == 0 or z is None or delta is None:
        return [f"x{unit} = a{unit}{layer}", f"= {a}"]
    return [
        f"z{unit}{layer} = {fmt_number(z[i], 4)}",
        f"a{unit}{layer} = {a}",
        f"δ{unit}{layer} = {fmt_number(delta[i], 4)}",
    ]
