// The playground page: controls, the API calls, and what each answer puts on screen.
// Every number shown here came from the server (deltaprop's own Python functions);
// this file only formats and places them, each with data attributes naming its symbol.
"use strict";

const $ = (id) => document.getElementById(id);
const S = {
  session: null, choices: null, config: {}, data: null, frame: null,
  walk: null, walkVersion: -1, walkAt: -1, selected: null, stream: null, table: null,
};
const REG = ["0", "0.001", "0.003", "0.01", "0.03", "0.1", "0.3", "1", "3", "10"];

// --- talking to the server ------------------------------------------------------------------

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

function say(text, isError) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", Boolean(isError));
}

async function attempt(work) {
  try {
    await work();
  } catch (err) {
    say(err.message, true);
  }
}

// --- numbers with their data attributes ------------------------------------------------------

function fmt(v) {
  if (v === null || v === undefined) return "–";
  if (v === 0) return "0";
  const text = String(parseFloat(Number(v).toPrecision(6)));
  return text.replaceAll("-", "−");
}

function num(value, attrs) {
  const span = document.createElement("span");
  span.className = "num";
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) span.dataset[k] = v;
  span.dataset.value = value === null ? "" : String(value);
  span.textContent = fmt(value);
  return span;
}

function setOut(id, value) {
  const out = $(id);
  out.dataset.value = value === null ? "" : String(value);
  out.textContent = fmt(value);
}

// --- settings: controls <-> URL <-> server -----------------------------------------------

function params() {
  const c = S.config;
  const p = {
    dataset: c.dataset, noise: $("noise").value, train: $("train").value,
    batch: $("batch").value, optimizer: $("optimizer").value, lr: $("lr").value,
    l2: $("l2").value, l1: $("l1").value, cost: $("cost").value, seed: $("seed").value,
    hidden: c.hidden, features: c.features, activation: c.activation,
  };
  if (c.dataset === "csv") p.problem = c.problem;
  return p;
}

function fillSelect(select, values, labels) {
  select.replaceChildren(...values.map((v) => {
    const o = document.createElement("option");
    o.value = v; o.textContent = labels ? labels[v] : v;
    return o;
  }));
}

function setControls(c) {
  S.config = c;
  for (const id of ["noise", "train", "batch", "optimizer", "lr", "l2", "l1", "cost", "seed"]) {
    const control = $(id);
    if (control.tagName === "SELECT" && /^[0-9.e+-]+$/.test(c[id])) {
      // Numbers are matched by value: the server writes 0.0 where the option says 0.
      let o = [...control.options].find((x) => Number(x.value) === Number(c[id]));
      if (!o) {
        o = document.createElement("option");
        o.value = o.textContent = c[id];
        control.appendChild(o);
      }
      control.value = o.value;
    } else {
      control.value = c[id];
    }
  }
  $("activation").value = c.activation.split(",")[0] || "tanh";
  $("train-out").textContent = c.train;
  $("noise-out").textContent = c.noise;
  $("batch-out").textContent = c.batch;
  $("problem").textContent = c.problem;
  for (const b of document.querySelectorAll("#datasets button")) {
    b.setAttribute("aria-pressed", String(b.dataset.dataset === c.dataset));
  }
  const query = new URLSearchParams(c).toString();
  history.replaceState(null, "", `${location.pathname}?${query}`);
}

async function rebuild(changes) {
  Object.assign(S.config, changes || {});
  await attempt(async () => show(await api("/api/config", { session: S.session, params: params() })));
}

function show(whole) {
  setControls(whole.config);
  S.data = whole.data;
  S.walk = null; S.walkAt = -1; S.selected = null;
  $("example").max = S.data.train.filter(Boolean).length;
  buildNetwork();
  drawFrame(whole.frame);
  $("walk-step").replaceChildren();
  $("walk-list").replaceChildren();
  $("inspect").textContent = "Click a unit or a weight on the network.";
  say("");
}

// --- the frame: J, curves, surfaces, weights -----------------------------------------------

function drawFrame(f) {
  S.frame = f;
  $("steps").textContent = f.step;
  $("epoch").textContent = f.epoch;
  setOut("J", f.J.J); setOut("J-data", f.J.data); setOut("J-decay", f.J.decay);
  setOut("J-l1", f.J.l1); setOut("J-test", f.test.data); setOut("J-train-data", f.J.data);
  const play = $("play");
  play.textContent = f.playing ? "❚❚ Pause" : "▶ Play";
  play.setAttribute("aria-label", f.playing ? "Pause" : "Play");
  play.setAttribute("aria-pressed", String(f.playing));
  if (f.diverged) say(`training diverged: ${f.diverged}`, true);
  Draw.curve($("curve"), f.curve);
  const regression = S.config.problem === "regression";
  Draw.surface($("surface"), f.surface.output, f.surface.grid, !regression);
  drawPointsNow();
  document.querySelectorAll("canvas.unit-surface").forEach((canvas) => {
    const l = Number(canvas.dataset.layer), i = Number(canvas.dataset.unit);
    const L = S.frame.W.length + 1;
    const g = f.surface.unit_grid;
    if (l === 1) Draw.surface(canvas, S.data.features[i - 1], g, false, true);
    else if (l === L) Draw.surface(canvas, f.surface.unit_output, g, !regression);
    else Draw.surface(canvas, f.surface.hidden[l - 2][i - 1], g, unitCentred(l));
  });
  drawWeights();
  if (!f.playing && S.walk && S.walkVersion !== f.version) scheduleWalk();
  if (S.selected && !f.playing) inspect(S.selected);
}

function unitCentred(l) {
  const acts = S.config.activation.split(",");
  const f = acts[Math.min(l - 2, acts.length - 1)];
  return f === "sigmoid";
}

function drawPointsNow() {
  const ring = S.walk && S.walk.point;
  Draw.points($("points"), S.data, $("show-test").checked, S.config.problem === "regression", ring);
}

// --- the network diagram ---------------------------------------------------------------

function sizes() {
  const hidden = S.config.hidden ? S.config.hidden.split(",").map(Number) : [];
  return [S.config.features.split(",").length, ...hidden, 1];
}

function unitButton(l, i, label) {
  const b = document.createElement("button");
  b.type = "button"; b.className = "unit";
  b.dataset.layer = l; b.dataset.unit = i;
  b.setAttribute("aria-label", label);
  const canvas = document.createElement("canvas");
  canvas.className = "unit-surface"; canvas.dataset.layer = l; canvas.dataset.unit = i;
  b.appendChild(canvas);
  b.addEventListener("click", () => select({ kind: "unit", layer: l, unit: i }));
  return b;
}

function buildNetwork() {
  const box = $("layers");
  box.replaceChildren();
  const s = sizes(), L = s.length;
  const active = S.config.features.split(",");
  // Input layer: every feature, with a switch; the active ones are the units a₁ … a_s1.
  const input = column("Input");
  for (const [name, label] of Object.entries(S.choices.features)) {
    const row = document.createElement("div");
    row.className = "feature";
    const on = document.createElement("input");
    on.type = "checkbox"; on.checked = active.includes(name);
    on.setAttribute("aria-label", `use feature ${label}`);
    on.addEventListener("change", () => {
      const next = Object.keys(S.choices.features).filter((n) =>
        n === name ? on.checked : active.includes(n));
      if (next.length) rebuild({ features: next.join(",") });
      else on.checked = true;
    });
    row.appendChild(on);
    const k = active.indexOf(name);
    if (k >= 0) row.appendChild(unitButton(1, k + 1, `input ${label}, unit ${k + 1} of layer 1`));
    const text = document.createElement("span");
    text.textContent = label;
    row.appendChild(text);
    input.appendChild(row);
  }
  box.appendChild(input);
  const acts = S.config.activation.split(",");
  for (let l = 2; l < L; l++) {
    const col = column(`Layer ${l}`);
    const tools = document.createElement("div");
    tools.className = "unit-tools";
    tools.append(
      tool("+", `Add a unit to layer ${l}`, () => changeUnits(l - 2, 1)),
      tool("−", `Remove a unit from layer ${l}`, () => changeUnits(l - 2, -1)),
    );
    if (S.choices.per_layer_activations) {
      const sel = document.createElement("select");
      sel.setAttribute("aria-label", `activation of layer ${l}`);
      fillSelect(sel, S.choices.activations);
      sel.value = acts[l - 2] || acts[0];
      sel.addEventListener("change", () => {
        const next = sizes().slice(1, -1).map((_, k) => (k === l - 2 ? sel.value : acts[k] || acts[0]));
        rebuild({ activation: next.join(",") });
      });
      tools.appendChild(sel);
    }
    col.appendChild(tools);
    for (let i = 1; i <= s[l - 1]; i++) col.appendChild(unitButton(l, i, `unit ${i} of layer ${l}`));
    box.appendChild(col);
  }
  const out = column(`Output (layer ${L})`);
  out.appendChild(unitButton(L, 1, `output unit, layer ${L}`));
  box.appendChild(out);
  $("layer-count").textContent = `${L - 2} hidden layer${L - 2 === 1 ? "" : "s"}`;
  $("global-activation").hidden = Boolean(S.choices.per_layer_activations);
  requestAnimationFrame(placeEdges);
}

function column(title) {
  const col = document.createElement("div");
  col.className = "layer";
  const h = document.createElement("h3");
  h.textContent = title;
  col.appendChild(h);
  return col;
}

function tool(text, label, action) {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = text; b.setAttribute("aria-label", label);
  b.addEventListener("click", action);
  return b;
}

function changeUnits(k, by) {
  const hidden = S.config.hidden.split(",").map(Number);
  const n = hidden[k] + by;
  if (n < 1 || n > S.choices.max_units) return;
  hidden[k] = n;
  rebuild({ hidden: hidden.join(",") });
}

function changeLayers(by) {
  const hidden = S.config.hidden ? S.config.hidden.split(",").map(Number) : [];
  const acts = S.config.activation.split(",");
  if (by > 0 && hidden.length < S.choices.max_layers) { hidden.push(2); acts.push(acts[acts.length - 1] || "tanh"); }
  else if (by < 0 && hidden.length > 0) { hidden.pop(); if (acts.length > 1) acts.pop(); }
  else return;
  rebuild({ hidden: hidden.join(","), activation: (hidden.length ? acts.slice(0, Math.max(1, hidden.length)) : ["tanh"]).join(",") });
}

function placeEdges() {
  const svg = $("edges"), box = $("network").getBoundingClientRect();
  svg.replaceChildren();
  svg.setAttribute("width", box.width); svg.setAttribute("height", box.height);
  const s = sizes();
  const centre = (l, i, side) => {
    const b = document.querySelector(`.unit[data-layer="${l}"][data-unit="${i}"]`);
    if (!b) return null;
    const r = b.getBoundingClientRect();
    return [(side > 0 ? r.right : r.left) - box.left, r.top + r.height / 2 - box.top];
  };
  for (let l = 1; l < s.length; l++) {
    for (let i = 1; i <= s[l]; i++) {
      for (let j = 1; j <= s[l - 1]; j++) {
        const a = centre(l, j, 1), b = centre(l + 1, i, -1);
        if (!a || !b) continue;
        const line = Draw.el("line", {
          x1: a[0], y1: a[1], x2: b[0], y2: b[1], class: "edge", tabindex: "0", role: "button",
          "data-symbol": "W", "data-layer": l, "data-unit": i, "data-from": j,
          "aria-label": `weight W ${i},${j} of layer ${l}, from unit ${j} of layer ${l} to unit ${i} of layer ${l + 1}`,
        }, svg);
        const pick = () => select({ kind: "edge", layer: l, unit: i, from: j });
        line.addEventListener("click", pick);
        line.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(); } });
      }
    }
  }
  drawWeights();
  highlightCurrent();
}

function drawWeights() {
  if (!S.frame) return;
  document.querySelectorAll("line.edge").forEach((line) => {
    const w = S.frame.W[line.dataset.layer - 1][line.dataset.unit - 1][line.dataset.from - 1];
    const c = Draw.rgb(w === null ? null : Math.sign(w));
    line.setAttribute("stroke", `rgb(${c.join(",")})`);
    line.setAttribute("stroke-width", w === null ? 1 : Math.min(6, 0.5 + 2 * Math.abs(w)).toFixed(2));
    line.dataset.value = w === null ? "" : String(w);
  });
}

window.addEventListener("resize", () => { if (S.config.features) placeEdges(); });
