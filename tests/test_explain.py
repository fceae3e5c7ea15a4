"""deltaprop explain: the worked example, its checks, the experiments, the formats, the command."""

from __future__ import annotations

import argparse
import doctest
import json
import math
import os
import re
import shutil
import struct
import subprocess
import zlib

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import backprop
from deltaprop import explain as explain_package
from deltaprop.activations import Activation, sigmoid
from deltaprop.explain import Explanation, Prose, Step, Table, experiments, explain, notation
from deltaprop.explain import api as explain_api
from deltaprop.explain.command import add_parser
from deltaprop.explain.experiments import common as experiments_common
from deltaprop.explain.notation import Num, fmt_number, nums

# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default() -> Explanation:
    """The default run, experiments included (about 2 s), shared by the tests that read it."""
    return explain()


def golden_net() -> tuple[dp.Network, np.ndarray, np.ndarray]:
    """The 2-2-2 example of test_backprop.py (Mazur's), worked by hand there."""
    net = dp.Network([2, 2, 2], activation="sigmoid", output_activation="sigmoid", seed=0)
    net.W[0][...] = [[0.15, 0.20], [0.25, 0.30]]
    net.b[0][...] = 0.35
    net.W[1][...] = [[0.40, 0.45], [0.50, 0.55]]
    net.b[1][...] = 0.60
    return net, np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])


def table(section, first_column: str) -> Table:
    """The table of ``section`` whose first column is named ``first_column``."""
    for block in section.blocks:
        if isinstance(block, Table) and block.columns[0] == first_column:
            return block
    raise AssertionError(f"no table starting with {first_column!r} in {section.id}")


def column(t: Table, index: int) -> list:
    return [row[index] for row in t.rows]


# --- the trainer's own numbers, looked up by key -------------------------------------------------


class TrainerNumbers:
    """Every quantity a step's key can name, from Network.forward, Network.cost_and_grad,
    Network.cost_terms and backprop.backward: the functions training calls."""

    def __init__(self, net: dp.Network, X: np.ndarray, Y: np.ndarray, lr: float) -> None:
        x, y = net.check_data(X, Y)
        self.net, self.x, self.y, self.lr = net, x, y, lr
        self.trace = net.forward(x)
        f = net.activations
        self.delta = backprop.backward(
            net.xp,
            net.W,
            f,
            self.trace,
            backprop.output_delta(net.xp, net.cost, f[-1], self.trace, y),
        )
        self.J, self.grad = net.cost_and_grad(x, y)
        self.dW, self.db = net.unpack(self.grad)
        self.data, self.decay = net.cost_terms(x, y)
        self.new = net.params - lr * self.grad  # the seed's update, θ := θ − α ∇J
        self.W_new, self.b_new = net.unpack(self.new)
        self.J_new = net.cost_and_grad(x, y, params=self.new)[0]
        self.new_data, self.new_decay = net.cost_terms(x, y, params=self.new)

    def value(self, key: str) -> float:
        name, rest = re.fullmatch(r"([^\[]+)((?:\[[^\]]*\])*)", key).groups()
        idx = [[int(v) for v in part.split(",")] for part in re.findall(r"\[([^\]]*)\]", rest)]
        t, d, net = self.trace, self.delta, self.net
        scalars = {
            "J": self.J,
            "J_data": self.data,
            "J_decay": self.decay,
            "J_new": self.J_new,
            "J_new_data": self.new_data,
            "J_new_decay": self.new_decay,
            "λ": net.weight_decay,
            "α": self.lr,
            "m": float(self.x.shape[0]),
            "sumsq": float(sum(np.sum(w * w) for w in net.W)),
        }
        if name in scalars:
            return float(scalars[name])
        if name == "x":
            return float(self.x[0, idx[0][0] - 1])
        if name == "y":
            return float(self.y[0, idx[0][0] - 1])
        if name == "loss":
            rows = net.cost.loss_rows(net.xp, t.z[-1], t.a[-1], self.y)
            return float(rows[idx[0][0] - 1])
        if name == "sumloss":
            return float(sum(self.value(f"loss[{k + 1}]") for k in range(self.x.shape[0])))
        (l,), *more = idx
        k = l - 1
        ij = [v - 1 for v in more[0]] if more else []
        if name == "z":
            return float(t.z[k][0, ij[0]])
        if name == "a":
            return float(t.a[k][0, ij[0]])
        if name == "fp":
            f = net.activations[k - 1]
            return float(f.fprime(net.xp, t.z[k], t.a[k])[0, ij[0]])
        if name == "δ":
            return float(d[k][0, ij[0]])
        if name == "back":
            return float((d[k + 1] @ net.W[k])[0, ij[0]])
        if name == "path":
            j, i = ij
            return float(net.W[k][j, i] * d[k + 1][0, j])
        if name == "Σaδ":
            i, j = ij
            return float(np.sum(t.a[k][:, j] * d[k + 1][:, i]))
        if name == "Σδ":
            return float(np.sum(d[k + 1][:, ij[0]]))
        arrays = {
            "W": net.W,
            "b": net.b,
            "dW": self.dW,
            "db": self.db,
            "W_new": self.W_new,
            "b_new": self.b_new,
        }
        return float(arrays[name][k][tuple(ij)])


def assert_every_number_is_the_trainers(e: Explanation, lr: float) -> None:
    n = e.numbers
    trainer = TrainerNumbers(n.net, n.x, n.y, lr)
    for s in e.steps:
        assert s.value == trainer.value(s.key), s.key
        for num in nums(s.numbers) + nums(s.equation):
            if num.of is None:
                assert num.value in (1.0, 2.0), (s.key, num)  # the 1 of 1/m, the 2 of λ/2
            else:
                assert num.value == trainer.value(num.of), (s.key, num.of)


# --- the worked example --------------------------------------------------------------------------


def test_golden_2_2_2_example_is_reproduced():
    # Worked by hand in test_backprop.py: out_o1 = a₁⁽³⁾ = 0.75136507, E = J = 0.298371109,
    # δ₁⁽³⁾ = 0.138498562, ∂J/∂w5 = 0.082167041, ∂J/∂w1 = 0.000438568; with α = 0.5,
    # w5 := 0.35891648 and w1 := 0.149780716.
    net, x, y = golden_net()
    e = explain(net, x, y, learning_rate=0.5, experiments=False)
    assert e.step("z[2][1]").value == pytest.approx(0.3775, rel=1e-12)
    assert e.step("a[3][1]").value == pytest.approx(0.75136507, abs=1e-8)
    assert e.step("a[3][2]").value == pytest.approx(0.772928465, abs=1e-9)
    assert e.step("J").value == pytest.approx(0.298371109, abs=1e-9)
    assert e.step("δ[3][1]").value == pytest.approx(0.138498562, abs=1e-9)
    assert e.step("dW[2][1,1]").value == pytest.approx(0.082167041, abs=1e-9)
    assert e.step("dW[1][1,1]").value == pytest.approx(0.000438568, abs=1e-9)
    assert e.step("W_new[2][1,1]").value == pytest.approx(0.35891648, abs=1e-8)
    assert e.step("W_new[1][1,1]").value == pytest.approx(0.149780716, abs=1e-9)
    assert e.ok
    text = e.to_text(digits=9)
    for shown in ("0.75136507", "0.298371109", "0.138498562", "0.08216704", "0.35891648"):
        assert shown in text
    assert_every_number_is_the_trainers(e, 0.5)


def test_every_number_shown_is_what_the_trainer_computes(default):
    assert_every_number_is_the_trainers(default, default.config["learning_rate"])
    text, page, md = default.to_text(), default.to_html(), default.to_markdown()
    for s in default.steps:
        shown = fmt_number(s.value)
        assert shown in text, s.key
        assert shown in md, s.key
        for num in nums(s.numbers):
            assert fmt_number(num.value) in text, (s.key, num)
    assert (
        default.step("J").value
        == default.numbers.net.cost_and_grad(default.numbers.x, default.numbers.y)[0]
    )
    assert "<math" in page and "<svg" in page


@pytest.mark.parametrize(
    "options",
    [
        {"layers": (2, 3, 2), "activation": "tanh", "weight_decay": 1e-3, "m": 4, "unit": 2},
        {"layers": (3, 4, 3, 2), "activation": "softplus", "cost": "binary_cross_entropy", "m": 2},
        {"layers": (4, 3, 3), "activation": "tanh", "cost": "cross_entropy", "weight_decay": 0.1},
        {"layers": (3, 3, 2), "output_activation": "softmax", "m": 3},
        {"layers": (3, 2), "output_activation": "identity", "m": 8},
    ],
)
def test_other_networks_are_worked_and_checked_too(options):
    e = explain(**options, seed=3, experiments=False)
    assert_every_number_is_the_trainers(e, 0.5)
    assert e.ok, [(s.key, s.check) for s in e.checked if not s.check.ok]
    net = e.numbers.net
    n_units = sum(net.layer_sizes[1:])
    assert len(e.checked) == net.n_params + n_units  # every δ and every ∂J/∂θ
    text = e.to_text()
    assert max(len(line) for line in text.splitlines()) <= 100


def test_every_tick_is_backed_by_a_relative_difference_below_1e_7(default):
    checked = default.checked
    net = default.numbers.net
    assert len(checked) == net.n_params + sum(net.layer_sizes[1:]) == 25
    for s in checked:
        assert s.check.ok
        assert s.check.relative_difference < 1e-7, s.key
    # The finite differences are gradcheck's own, at ε and ε/2, combined by Richardson's rule.
    x, y = default.numbers.x, default.numbers.y
    eps = default.config["epsilon"]
    coarse = dp.check_gradient(net, x, y, epsilon=eps).numeric
    fine = dp.check_gradient(net, x, y, epsilon=eps / 2).numeric
    shown = [s.check.numeric for s in checked if s.key.startswith(("dW", "db"))]
    assert sorted(shown) == sorted(((4 * fine - coarse) / 3).tolist())
    coarse_d = dp.check_deltas(net, x, y, epsilon=eps)
    for c, f in zip(coarse_d, dp.check_deltas(net, x, y, epsilon=eps / 2)):
        for i in range(c.delta.shape[1]):
            check = default.step(f"δ[{c.layer}][{i + 1}]").check
            assert check.numeric == (4 * f.measured[0, i] - c.measured[0, i]) / 3
    text = default.to_text()
    assert text.count("✓ finite difference") == 25 and "✗" not in text


def test_a_planted_wrong_derivative_turns_a_tick_into_a_cross():
    # f′ 1 % off: every δ and derivative that uses it disagrees with the finite difference.
    wrong = Activation("sigmoid", sigmoid.f, lambda xp, z, a: 1.01 * a * (1.0 - a))
    net = dp.Network([3, 3, 2], activation=wrong, output_activation=wrong, seed=0)
    e = explain(net, experiments=False)
    crosses = [s for s in e.checked if not s.check.ok]
    assert crosses and not e.ok
    out_delta = e.step("δ[3][1]").check
    assert not out_delta.ok and out_delta.relative_difference > 1e-3
    assert all(s.check.relative_difference >= 1e-7 for s in crosses)
    assert "✗ finite difference" in e.to_text()
    assert '<div class="check bad"' in e.to_html()
    assert json.loads(e.to_json())["ok"] is False


def test_hidden_delta_is_worked_path_by_path_for_the_chosen_unit():
    e = explain(layers=(2, 3, 2), unit=2, experiments=False)
    paths = [s for s in e.steps if s.key.startswith("path[")]
    assert [s.key for s in paths] == ["path[2][1,2]", "path[2][2,2]"]
    back = e.step("back[2][2]")
    assert back.value == pytest.approx(sum(s.value for s in paths), rel=1e-15)
    text = e.to_text()
    assert "W₁₂⁽²⁾ δ₁⁽³⁾" in text and "W₂₂⁽²⁾ δ₂⁽³⁾" in text  # W_ji: j the receiving unit
    assert "Kronecker delta" in " ".join(text.split())
    assert "path to unit 1 of layer 3" in text


def test_the_step_lowers_J_and_the_network_is_untouched(default):
    assert default.step("J_new").value < default.step("J").value
    net = dp.Network([3, 3, 2], seed=0)
    before = net.params.copy()
    explain(net, experiments=False)
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize(
    "call,words",
    [
        (lambda: explain(layers=(3, 0, 2)), "layer_sizes[1] is 0"),
        (lambda: explain(layers=(64, 25, 64)), "explain writes out every one"),
        (lambda: explain(activation="swish"), "unknown activation 'swish'"),
        (lambda: explain(unit=4), "unit is 4, but hidden layer 2 has only 3 units"),
        (lambda: explain(layers=(3, 2), unit=1), "unit: the network has no hidden layer"),
        (lambda: explain(m=0), "m must be a whole number ≥ 1"),
        (lambda: explain(learning_rate=0.0), "learning_rate must be a positive finite number"),
        (lambda: explain(seed=-1), "seed must be a whole number ≥ 0"),
        (lambda: explain(x=np.zeros((1, 3))), "x and y: give both"),
        (lambda: explain(x=np.zeros((2, 3)), y=np.zeros((2, 2)), m=3), "m is 3 but x has 2"),
        (lambda: explain(x=np.zeros((1, 4)), y=np.zeros((1, 2))), "X has 4 features"),
        (lambda: explain(dp.Network([2, 2, 2]), layers=(2, 2, 2)), "layers: given together"),
        (lambda: explain(dp.Network([2, 2], dtype="float32")), "numpy float64 network"),
    ],
)
def test_bad_arguments_are_named(call, words):
    with pytest.raises(ValueError) as info:
        call()
    assert words in str(info.value)


# --- the experiments -----------------------------------------------------------------------------


def test_why_half_factor_two_exact_and_identical_paths(default):
    section = default.section("why-half")
    grads = table(section, "parameters")
    for ratio, gap in zip(column(grads, 3), column(grads, 4)):
        assert abs(ratio - 2.0) <= 1e-12 and gap <= 1e-12 * 2
    path = table(section, "step t")
    assert column(path, 0)[-1] == 100
    for J, J2, ratio, gap in zip(*(column(path, c) for c in (1, 2, 3, 4))):
        assert J2 == pytest.approx(2 * J, rel=1e-12) and abs(ratio - 2) <= 1e-12
        assert gap == 0.0  # θ and θ′ are the same numbers at every step
    assert column(path, 1)[-1] < column(path, 1)[0]
    assert all(c.holds for c in section.claims)


def test_why_average_sum_gradient_grows_linearly_in_m(default):
    section = default.section("why-average")
    norms = table(section, "m")
    ms = column(norms, 0)
    assert ms == [10, 100, 1000, 10000]
    mean, total = np.array(column(norms, 1)), np.array(column(norms, 2))
    np.testing.assert_allclose(total / np.array(ms), mean, rtol=1e-12)
    slope = np.polyfit(np.log(ms), np.log(total), 1)[0]
    assert 0.95 <= slope <= 1.05
    assert mean.max() / mean.min() < 1.1  # the mean's gradient does not grow
    runs = [t for t in section.blocks if isinstance(t, Table)][1]
    for _m, start, end_mean, _end_sum in runs.rows:
        assert end_mean < start  # one α works for the mean at every m
    last = runs.rows[-1][3]
    assert isinstance(last, str) or not math.isfinite(last) or last > runs.rows[-1][1]
    assert all(c.holds for c in section.claims)


def test_why_weight_decay_lowers_test_error(default):
    section = default.section("why-decay")
    sweep = table(section, "λ")
    lams, train_err, test_err, w_norm = (column(sweep, c) for c in range(4))
    assert lams[0] == 0.0
    best = min(range(1, len(lams)), key=lambda k: test_err[k])
    assert test_err[best] < test_err[0]  # a suitable λ beats none
    assert train_err[0] == min(train_err)  # λ = 0 fits the training noise best
    assert w_norm[-1] < w_norm[0]
    extra = table(section, "parameters")
    for name, diff, expected, rel in extra.rows:
        if name.startswith("b"):
            assert diff == 0.0  # biases are not decayed
        else:
            assert rel <= 1e-10 and diff == pytest.approx(expected, rel=1e-10)
    assert all(c.holds for c in section.claims)


def test_why_delta_every_unit_agrees_with_perturbation(default):
    section = default.section("why-delta")
    rows = table(section, "network").rows
    assert {r[0] for r in rows} == {"worked example", "4-5-5-3, 5 examples"}
    assert all(r[3] < 1e-7 for r in rows)
    assert all(c.holds for c in section.claims)


def test_every_claim_holds_and_the_whole_run_is_ok(default):
    assert len(default.claims) == 12
    assert default.ok


# --- the formats ---------------------------------------------------------------------------------


def test_text_fits_100_columns_and_has_no_colour_unless_asked(default):
    text = default.to_text()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "\033[" not in text
    assert "\033[32m✓" in default.to_text(color=True)
    for title in ("Forward pass", "Error terms of the hidden layers", "Why the ½?"):
        assert title in text


def test_markdown_has_latex_math_and_tables(default):
    md = default.to_markdown()
    assert md.startswith("# deltaprop explain")
    assert "$$" in md and r"\frac{\partial J}{\partial W_{11}^{(1)}}" in md
    assert "| equation | with numbers | result | finite difference | rel. diff. | |" in md
    assert md.count("✓") >= 25 + 12


def markdown_table_cells(line: str) -> list[str]:
    """The cells of one Markdown table row, split as GitHub splits them: on every | that no
    backslash escapes; each cell unescaped."""
    assert line.startswith("|") and line.endswith("|"), line
    cells, cell, chars = [], "", iter(line[1:])
    for c in chars:
        if c == "\\":
            cell += c + next(chars, "")
        elif c == "|":
            cells.append(cell.strip())
            cell = ""
        else:
            cell += c
    assert cell == "", line  # nothing after the last |
    return [re.sub(r"\\(.)", r"\1", c) for c in cells]


def markdown_tables(md: str) -> list[list[list[str]]]:
    """Every table of a Markdown document, as rows of cells (header and delimiter rows first)."""
    tables: list[list[list[str]]] = []
    previous = ""
    for line in md.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                tables.append([])
            tables[-1].append(markdown_table_cells(line))
        previous = line
    return tables


def test_markdown_tables_keep_their_columns(default):
    # Two tables of "Why the ½?" have a | in a header (max |∇J′ − 2∇J|): unescaped, GitHub
    # splits the header there and the table falls apart.
    tables = markdown_tables(default.to_markdown())
    data = [t for t in tables if t[0][0] != "equation"]
    originals = [b for s in default.sections for b in s.blocks if isinstance(b, Table)]
    assert len(data) == len(originals) and len(tables) > len(data)
    for rows in tables:
        assert all(len(row) == len(rows[0]) for row in rows), rows[0]
        assert all(set(cell) <= set("-:") for cell in rows[1])  # the delimiter row
    for rows, t in zip(data, originals):
        assert rows[0] == list(t.columns)
        assert len(rows) == 2 + len(t.rows)
    assert any("|" in c for t in originals for c in t.columns)  # the case that broke


def equation_repeats(line: str) -> bool:
    """True if two neighbouring sides of " = " in a text line are the same number."""
    sides = [part.split("   ")[0].strip().strip("()") for part in line.split(" = ")]
    number = re.compile(r"−?\d[\d.]*(e−?\d+)?")
    return any(a == b and number.fullmatch(a) for a, b in zip(sides, sides[1:]))


@pytest.mark.parametrize("seed", [0, 3])
def test_no_equation_shows_the_same_number_twice_in_a_row(seed):
    # 2-4-1: one output unit, so each hidden δ's sum Σⱼ Wⱼᵢ δⱼ has a single path, whose value
    # was printed as "= 0.0030832 = 0.0030832".
    e = explain(layers=(2, 4, 1), activation="tanh", seed=seed, experiments=False)
    text = e.to_text()
    assert not [line for line in text.splitlines() if equation_repeats(line)]
    assert equation_repeats("  Σⱼ Wⱼ₁⁽²⁾ δⱼ⁽³⁾ = W₁₁⁽²⁾ δ₁⁽³⁾ = (−0.07) = −0.07   (the paths)")
    back = e.step("back[2][1]")
    assert f"W₁₁⁽²⁾ δ₁⁽³⁾ = {fmt_number(back.value)}   (the paths, added up)" in text
    labels = re.findall(r'aria-label="([^"]*)"', e.to_html())
    assert labels and not [label for label in labels if equation_repeats(label)]
    tables = markdown_tables(e.to_markdown())
    steps = [row for rows in tables if rows[0][0] == "equation" for row in rows[2:]]
    sums = [row for row in steps if "(the paths, added up)" in row[2]]
    assert sums and all(row[1] == "" for row in sums)  # no "with numbers" that repeats the result


def test_experiments_say_which_network_they_run_on():
    # The experiments build their own networks; with another worked network they used to
    # read as if they ran on it.
    e = explain(layers=(2, 4, 1), activation="tanh")
    worked = experiments.describe(e.numbers.net)
    assert worked == "a 2-4-1 network with tanh hidden units and a sigmoid output"
    for id in ("why-half", "why-average", "why-decay"):
        first = e.section(id).blocks[0]
        assert isinstance(first, Prose), id
        assert "This experiment runs on a network of its own, a " in first.text
        assert f"whatever network the worked example uses (here {worked})" in first.text
    assert "1-20-1 network" in e.section("why-decay").blocks[0].text
    delta = " ".join(b.text for b in e.section("why-delta").blocks if isinstance(b, Prose))
    assert f"the worked example's own network ({worked})" in delta
    assert "3-3-2 sigmoid network" not in e.to_text()
    assert "(here one of the same shape)" in explain().section("why-half").blocks[0].text


def test_no_reference_to_a_text_the_reader_never_saw(default, capsys):
    # "The answer you read" and "the seed's equation" pointed at texts the page never shows.
    with pytest.raises(SystemExit):
        parser().parse_args(["explain", "--help"])
    pages = [default.to_text(), default.to_markdown(), default.to_html(), capsys.readouterr().out]
    for page in pages:
        for phrase in ("you read", "the seed", "the answer"):
            assert phrase not in page.lower(), phrase
    assert "UFLDL's" in pages[0]


def test_json_parses_and_holds_every_number(default):
    data = json.loads(default.to_json())
    assert data["format"] == "deltaprop-explain" and data["ok"] is True
    n = default.numbers
    net = data["network"]
    np.testing.assert_array_equal(np.array(net["x"]), n.x)
    for k in range(len(n.W)):
        np.testing.assert_array_equal(np.array(net["W"][k]), n.W[k])
        np.testing.assert_array_equal(np.array(net["gradient"]["W"][k]), n.weight_grads[k])
        np.testing.assert_array_equal(np.array(net["gradient"]["b"][k]), n.bias_grads[k])
    assert net["J"] == default.step("J").value
    steps = [b for s in data["sections"] for b in s["blocks"] if b["type"] == "step"]
    assert len(steps) == len(default.steps)
    for record, s in zip(steps, default.steps):
        assert record["key"] == s.key and record["value"] == s.value
        assert [v["value"] for v in record["numbers"]["values"]] == [
            v.value for v in nums(s.numbers)
        ]
        if s.check is not None:
            assert record["check"]["finite_difference"] == s.check.numeric
            assert record["check"]["relative_difference"] == s.check.relative_difference
    tables = [b for s in data["sections"] for b in s["blocks"] if b["type"] == "table"]
    originals = [b for s in default.sections for b in s.blocks if isinstance(b, Table)]
    for record, t in zip(tables, originals):
        assert record["rows"] == [
            [v if not isinstance(v, float) or math.isfinite(v) else None for v in row]
            for row in t.rows
        ]
    claims = [b for s in data["sections"] for b in s["blocks"] if b["type"] == "claim"]
    assert len(claims) == 12 and all(c["holds"] for c in claims)


def test_html_is_one_self_contained_page(default):
    page = default.to_html()
    assert page.startswith("<!DOCTYPE html>") and page.count("<html") == 1
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert "@import" not in page and "url(" not in page
    urls = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert urls == {"http://www.w3.org/2000/svg"}  # the SVG namespace name, never fetched
    assert page.count("<math") > 100 and "<mfrac>" in page and "<msubsup>" in page
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert svg.count("<rect") == 8  # 3 + 3 + 2 units
    assert svg.count("<line") == 15  # 9 + 6 weights, each labelled with its ∂J/∂W
    assert "δ₁⁽³⁾ = " in svg and "z₁⁽²⁾ = " in svg
    for s in default.steps:
        if s.key.startswith("dW["):
            assert fmt_number(s.value, 3) in svg


def decode_png(data: bytes) -> np.ndarray:
    """An 8-bit, non-interlaced PNG as an (h, w, channels) uint8 array (zlib + struct only)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    pos, idat, header = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    w, h, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour in (0, 2, 4, 6), header
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int64)
    for r in range(h):
        start = r * (stride + 1)
        kind = raw[start]
        line = np.frombuffer(raw, np.uint8, stride, start + 1).astype(np.int64)
        if kind == 0:
            cur = line
        elif kind == 1:  # Sub: a running sum along the row, per channel
            cur = np.cumsum(line.reshape(w, bpp), axis=0).reshape(-1) % 256
        elif kind == 2:  # Up
            cur = (line + prev) % 256
        else:  # Average and Paeth depend on the pixel to the left: byte by byte
            row, lb, pb = bytearray(stride), line.tolist(), prev.tolist()
            for i in range(stride):
                a = row[i - bpp] if i >= bpp else 0
                b = pb[i]
                if kind == 3:
                    row[i] = (lb[i] + ((a + b) >> 1)) & 255
                    continue
                c = pb[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb_, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb_ and pa <= pc else (b if pb_ <= pc else c)
                row[i] = (lb[i] + pred) & 255
            cur = np.frombuffer(bytes(row), np.uint8).astype(np.int64)
        out[r] = cur
        prev = cur
    return out.reshape(h, w, bpp)


CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None
)


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian package 'chromium'; .ci/run installs it)",
)
def test_html_opens_in_headless_chromium_and_is_not_blank(default, tmp_path):
    page = tmp_path / "explain.html"
    page.write_text(default.to_html(), encoding="utf-8")
    shot = tmp_path / "shot.png"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1200,2000",
        page.as_uri(),
    ]
    proc = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert shot.exists(), f"no screenshot (exit {proc.returncode}): {proc.stderr[-2000:]}"
    image = decode_png(shot.read_bytes())
    assert image.shape[:2] == (2000, 1200)
    rgb = image[..., :3].astype(float)
    assert rgb.std() > 10  # not one flat colour
    packed = (image[..., 0].astype(np.int32) << 16) | (image[..., 1].astype(np.int32) << 8)
    packed |= image[..., 2]
    assert np.unique(packed).size > 100  # text, lines and colours, not a flat fill
    ink = (np.abs(rgb - rgb[5, 5]).sum(axis=2) > 60).mean(axis=1)  # rows that differ from paper
    assert (ink > 0.005).mean() > 0.3  # ink all down the page, not one stray line


# --- the command ---------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deltaprop")
    sub = p.add_subparsers()
    add_parser(sub)
    return p


def run(argv: list[str]) -> int:
    args = parser().parse_args(["explain", *argv])
    return args.run(args)


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_command_prints_each_format(fmt, capsys):
    assert run(["--format", fmt, "--no-experiments"]) == 0
    out = capsys.readouterr().out
    if fmt == "json":
        assert json.loads(out)["ok"] is True
    elif fmt == "html":
        assert out.startswith("<!DOCTYPE html>")
    elif fmt == "markdown":
        assert out.startswith("# deltaprop explain")
    else:
        assert out.startswith("deltaprop explain") and "\033[" not in out


def test_command_options_reach_the_explanation(capsys):
    argv = ["--layers", "2-3-2", "--activation", "tanh", "--output", "identity"]
    argv += ["--weight-decay", "1e-3", "--learning-rate", "0.1", "--seed", "4", "--examples", "3"]
    argv += ["--unit", "3", "--format", "json", "--no-experiments"]
    assert run(argv) == 0
    cfg = json.loads(capsys.readouterr().out)["config"]
    assert cfg == {
        **cfg,
        "layers": [2, 3, 2],
        "activation": "tanh",
        "output_activation": "identity",
        "weight_decay": 1e-3,
        "learning_rate": 0.1,
        "seed": 4,
        "m": 3,
        "unit": 3,
        "experiments": False,
    }


def test_command_writes_a_file_and_refuses_to_overwrite_without_force(tmp_path, capsys):
    target = tmp_path / "page.html"
    assert run(["--format", "html", "--no-experiments", "-o", str(target)]) == 0
    assert capsys.readouterr().out == f"wrote {target}\n"
    first = target.read_text(encoding="utf-8")
    assert first.startswith("<!DOCTYPE html>")
    with pytest.raises(ValueError, match="exists; pass --force"):
        run(["--format", "json", "--no-experiments", "-o", str(target)])
    assert target.read_text(encoding="utf-8") == first  # untouched
    assert run(["--format", "json", "--no-experiments", "-o", str(target), "--force"]) == 0
    assert json.loads(target.read_text(encoding="utf-8"))["format"] == "deltaprop-explain"
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]  # no temporary files left
    with pytest.raises(ValueError, match="does not exist"):
        run(["--no-experiments", "-o", str(tmp_path / "missing" / "page.txt")])


@pytest.mark.parametrize(
    "argv,words",
    [
        (["--layers", "3-x"], "--layers: expected unit counts joined by '-'"),
        (["--layers", "3"], "--layers: need at least an input and an output layer"),
        (["--layers", "3-0-2"], "--layers: every layer needs at least 1 unit"),
        (["--activation", "swish"], "--activation: unknown value 'swish'"),
        (["--activation", "softmax"], "--activation: 'softmax' couples the units"),
        (["--output", "step"], "--output: unknown value 'step'"),
        (["--cost", "hinge"], "--cost: unknown value 'hinge'"),
        (["--cost", "cross_entropy", "--output", "sigmoid"], "--cost 'cross_entropy' needs"),
        (["--weight-decay", "lots"], "--weight-decay: expected a number, got 'lots'"),
        (["--weight-decay", "-1"], "--weight-decay must be a finite number at least 0.0, got -1.0"),
        (["--weight-decay", "nan"], "--weight-decay must be a finite number"),
        (["--learning-rate", "0"], "--learning-rate must be a positive finite number"),
        (["--seed", "1.5"], "--seed: expected a whole number, got '1.5'"),
        (["--seed", "-1"], "--seed must be a whole number ≥ 0, got -1"),
        (["--examples", "0"], "--examples must be a whole number ≥ 1, got 0"),
        (["--learning-rate", "inf"], "--learning-rate must be a finite number, got inf"),
        (["--unit", "0"], "--unit must be a whole number ≥ 1, got 0"),
        (["--examples", "20000"], "--examples must be at most 10000"),
        (["--unit", "5"], "--unit is 5, but hidden layer 2 has only 3 units"),
        (["--format", "pdf"], "--format: unknown value 'pdf'; choose one of: text, markdown"),
        (["--layers", "40-30-20"], "--layers: the network has 1850 parameters"),
    ],
)
def test_command_bad_options_raise_value_error_naming_the_option(argv, words):
    with pytest.raises(ValueError) as info:
        run([*argv, "--no-experiments"])
    assert words in str(info.value)


def test_command_help_has_an_example(capsys):
    with pytest.raises(SystemExit):
        parser().parse_args(["explain", "--help"])
    out = capsys.readouterr().out
    assert "deltaprop explain --format html -o explain.html" in out
    assert "--no-experiments" in out and "--force" in out


# --- docstring examples --------------------------------------------------------------------------


@pytest.mark.parametrize("module", [notation, explain_api, explain_package, experiments_common])
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_unicode_latex_and_mathml_say_the_same_thing():
    e = notation.Row(
        notation.Frac(
            notation.Row(notation.Sym("∂"), notation.Sym("J")),
            notation.Row(notation.Sym("∂"), notation.sym("W", "12", 1)),
        ),
        notation.Op("="),
        notation.Row(notation.sym("a", "2", 1), notation.sym("δ", "1", 2)),
        notation.Op("="),
        Num(-0.00012345, "dW[1][1,2]"),
    )
    assert notation.to_unicode(e) == "∂J/∂W₁₂⁽¹⁾ = a₂⁽¹⁾ δ₁⁽²⁾ = −0.00012345"
    assert notation.to_latex(e) == (
        r"\frac{\partial J}{\partial W_{12}^{(1)}} = a_{2}^{(1)} \delta_{1}^{(2)} = -0.00012345"
    )
    mathml = notation.to_mathml(e)
    assert "<mfrac>" in mathml and "<msubsup><mi>W</mi><mn>12</mn>" in mathml
    assert '<mrow title="dW[1][1,2]"><mo>−</mo><mn>0.00012345</mn></mrow>' in mathml
    assert notation.fmt_number(2.5e-11, 2) == "2.5e−11"
    assert notation.subscripts("W_ji⁽ˡ⁾ and squared_error") == "Wⱼᵢ⁽ˡ⁾ and squared_error"


def test_step_records_are_plain_frozen_data(default):
    s = default.steps[0]
    assert isinstance(s, Step)
    with pytest.raises(AttributeError):
        s.value = 0.0  # type: ignore[misc]
