// The step-through, the inspector, the experiments, the CSV upload, and start-up.
// The records shown are deltaprop explain's, built by the server for the network on screen.
"use strict";

// --- the step-through -----------------------------------------------------------------

let walkTimer = null;
function scheduleWalk() {
  clearTimeout(walkTimer);
  walkTimer = setTimeout(() => attempt(loadWalk), 120);
}

async function loadWalk() {
  const example = Number($("example").value) || 1;
  const version = S.frame.version;
  const walk = await api(`/api/walk?session=${encodeURIComponent(S.session)}&example=${example}`);
  S.walk = walk;
  S.walkVersion = version;
  if (S.walkAt < 0 || S.walkAt >= walk.steps.length) S.walkAt = 0;
  renderWalkList();
  renderStep();
  drawPointsNow();
  if (S.selected) inspect(S.selected);
}

function record(step) {
  const box = document.createElement("div");
  box.className = "record";
  box.dataset.key = step.key;
  const attrs = { symbol: step.symbol, layer: step.layer, unit: step.unit, from: step.from };
  const eq = document.createElement("p");
  eq.className = "equation";
  eq.textContent = step.equation;
  box.appendChild(eq);
  const line = document.createElement("p");
  line.className = "numbers";
  line.append(step.numbers ? `= ${step.numbers} = ` : "= ", num(step.value, attrs));
  box.appendChild(line);
  if (step.check) {
    const c = step.check;
    const check = document.createElement("p");
    check.className = `check ${c.ok ? "ok" : "bad"}`;
    check.append(`finite difference (move ${c.perturbed} by ±ε, ε = ${c.epsilon}): `,
      num(c.numeric, { symbol: "numeric", of: step.key }),
      ` ${c.mark} relative difference ${fmt(c.relative_difference)}`);
    check.setAttribute("aria-label", `check ${c.ok ? "passed" : "failed"}`);
    box.appendChild(check);
  }
  if (step.note) {
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = step.note;
    box.appendChild(note);
  }
  return box;
}

function renderStep() {
  const w = S.walk;
  if (!w) return;
  const step = w.steps[S.walkAt];
  const holder = $("walk-step");
  holder.replaceChildren(record(step));
  const forward = step.section === "forward";
  $("walk-mode").textContent = forward ? "forward" : "backward";
  $("walk-pos").textContent = `${S.walkAt + 1} / ${w.steps.length}`;
  document.querySelectorAll("#walk-list li").forEach((li, k) => li.classList.toggle("current", k === S.walkAt));
  highlightCurrent();
}

function renderWalkList() {
  const list = $("walk-list");
  list.replaceChildren(...S.walk.steps.map((step, k) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = `${step.equation}  =  ${fmt(step.value)}${step.check ? " " + step.check.mark : ""}`;
    b.addEventListener("click", () => { S.walkAt = k; renderStep(); });
    li.appendChild(b);
    return li;
  }));
}

function highlightCurrent() {
  document.querySelectorAll(".current-target").forEach((n) => n.classList.remove("current-target"));
  if (!S.walk || S.walkAt < 0) return;
  const t = S.walk.steps[S.walkAt];
  let node = null;
  if (t.symbol === "dW" || t.symbol === "path") {
    const [unit, from] = t.symbol === "path" ? [t.unit, t.from] : [t.unit, t.from];
    node = document.querySelector(`line.edge[data-layer="${t.layer}"][data-unit="${unit}"][data-from="${from}"]`);
  } else if (t.symbol === "db") {
    node = document.querySelector(`.unit[data-layer="${t.layer + 1}"][data-unit="${t.unit}"]`);
  } else if (t.layer !== undefined && t.unit !== undefined) {
    node = document.querySelector(`.unit[data-layer="${t.layer}"][data-unit="${t.unit}"]`);
  } else {
    node = document.querySelector(`.unit[data-layer="${sizes().length}"]`);
  }
  if (node) node.classList.add("current-target");
}

function move(by) {
  if (!S.walk) return attempt(loadWalk);
  S.walkAt = Math.max(0, Math.min(S.walk.steps.length - 1, S.walkAt + by));
  renderStep();
}

function jump(forward) {
  if (!S.walk) return;
  const k = S.walk.steps.findIndex((s) => (forward ? s.section === "forward" : s.section !== "forward"));
  if (k >= 0) { S.walkAt = k; renderStep(); }
}

// --- the inspector: a unit's z, a, δ or an edge's W, ∂J/∂W ------------------------------

async function select(what) {
  S.selected = what;
  if (!S.walk || S.walkVersion !== S.frame.version) await attempt(loadWalk);
  inspect(what);
}

function findStep(key) {
  return S.walk ? S.walk.steps.find((s) => s.key === key) : undefined;
}

const SUP = { 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
const SUB = { 0: "₀", 1: "₁", 2: "₂", 3: "₃", 4: "₄", 5: "₅", 6: "₆", 7: "₇", 8: "₈", 9: "₉" };
// "W", [1, 2], 1 -> W₁₂⁽¹⁾, the seed's notation.
function symbol(base, sub, layer) {
  const s = sub.map((d) => String(d).split("").map((c) => SUB[c]).join("")).join(sub.length > 1 && sub.some((d) => d > 9) ? "," : "");
  return `${base}${s}⁽${String(layer).split("").map((c) => SUP[c]).join("")}⁾`;
}

function editor(label, kind, layer, unit, from, value) {
  const form = document.createElement("form");
  form.className = "edit";
  const input = document.createElement("input");
  input.type = "number"; input.step = "any"; input.value = value;
  input.setAttribute("aria-label", label);
  const go = document.createElement("button");
  go.type = "submit"; go.textContent = "Set";
  go.setAttribute("aria-label", `Set ${label}`);
  form.append(`${label} := `, input, go);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = Number(input.value);
    if (input.value === "" || !Number.isFinite(v)) { say(`${label} must be a number`, true); return; }
    attempt(async () => {
      drawFrame(await api("/api/edit", { session: S.session, kind, layer, unit, from, value: v }));
      await loadWalk();
    });
  });
  return form;
}

function inspect(what) {
  const box = $("inspect");
  const items = [];
  const heading = document.createElement("h3");
  const L = sizes().length;
  if (what.kind === "unit") {
    heading.textContent = `Unit ${what.unit} of layer ${what.layer} (example ${S.walk ? S.walk.example : "–"})`;
    if (what.layer === 1) {
      const p = document.createElement("p");
      p.append(`${symbol("a", [what.unit], 1)} = ${symbol("x", [what.unit], 1).slice(0, -3)} = `,
        num(S.walk ? S.walk.a[0][what.unit - 1] : null, { symbol: "a", layer: 1, unit: what.unit }));
      items.push(p);
    }
    for (const key of [`z[${what.layer}][${what.unit}]`, `a[${what.layer}][${what.unit}]`, `δ[${what.layer}][${what.unit}]`]) {
      const step = findStep(key);
      if (step) items.push(record(step));
    }
    if (what.layer > 1) {
      const b = S.frame.b[what.layer - 2][what.unit - 1];
      items.push(editor(symbol("b", [what.unit], what.layer - 1), "b", what.layer - 1, what.unit, undefined, b));
      const db = findStep(`db[${what.layer - 1}][${what.unit}]`);
      if (db) items.push(record(db));
    }
  } else {
    const { layer, unit, from } = what;
    heading.textContent = `Weight from unit ${from} of layer ${layer} to unit ${unit} of layer ${layer + 1}`;
    const w = S.frame.W[layer - 1][unit - 1][from - 1];
    const p = document.createElement("p");
    p.append(`${symbol("W", [unit, from], layer)} = `, num(w, { symbol: "W", layer, unit, from }));
    items.push(p, editor(symbol("W", [unit, from], layer), "W", layer, unit, from, w));
    const dW = findStep(`dW[${layer}][${unit},${from}]`);
    if (dW) items.push(record(dW));
  }
  if (L && Number(S.config.l1) > 0) {
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = "The step-through shows the seed's J (data term and (λ/2) Σ W²); training adds λ₁ Σ|W| (L1) on top.";
    items.push(note);
  }
  box.replaceChildren(heading, ...items);
}

// --- experiments -----------------------------------------------------------------------

function renderSection(section) {
  const box = $("experiment");
  const h = document.createElement("h3");
  h.textContent = section.title;
  const parts = [h];
  for (const block of section.blocks) {
    if (block.kind === "prose") {
      const p = document.createElement("p"); p.textContent = block.text; parts.push(p);
    } else if (block.kind === "claim") {
      const p = document.createElement("p");
      p.className = `claim ${block.holds ? "ok" : "bad"}`;
      p.textContent = `${block.mark} ${block.text} (${block.evidence})`;
      parts.push(p);
    } else if (block.kind === "table") {
      const t = document.createElement("table");
      if (block.caption) { const c = t.createCaption(); c.textContent = block.caption; }
      const head = t.createTHead().insertRow();
      for (const col of block.columns) { const th = document.createElement("th"); th.textContent = col; head.appendChild(th); }
      const body = t.createTBody();
      for (const row of block.rows) {
        const tr = body.insertRow();
        for (const cell of row) tr.insertCell().textContent = typeof cell === "number" ? fmt(cell) : cell === null ? "–" : cell;
      }
      parts.push(t);
    } else if (block.kind === "step") {
      parts.push(record(block));
    }
  }
  box.replaceChildren(...parts);
}

// --- CSV ---------------------------------------------------------------------------------

async function upload(file) {
  if (file.size > S.choices.max_upload_bytes) {
    say(`${file.name} is ${file.size.toLocaleString()} bytes; the playground takes at most ${S.choices.max_upload_bytes.toLocaleString()}`, true);
    return;
  }
  const response = await fetch(`/api/upload?session=${encodeURIComponent(S.session)}`, {
    method: "POST", headers: { "Content-Type": "text/csv" }, body: file,
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error);
  const cols = answer.columns;
  for (const [id, k] of [["csv-x1", 0], ["csv-x2", 1], ["csv-target", cols.length - 1]]) {
    fillSelect($(id), cols);
    $(id).value = cols[k];
  }
  $("csv-use").disabled = false;
  say(`${file.name}: ${answer.rows} rows, columns ${cols.join(", ")}; choose two features and the target`);
}

async function useCsv() {
  const body = {
    session: S.session, x1: $("csv-x1").value, x2: $("csv-x2").value,
    target: $("csv-target").value, problem: $("csv-problem").value, params: params(),
  };
  body.params.dataset = "csv";
  delete body.params.problem;
  if (body.problem === "regression") body.params.cost = "squared_error";
  show(await api("/api/csv", body));
  say(`training on your CSV: x₁ = ${body.x1}, x₂ = ${body.x2}, target = ${body.target}`);
}

// --- start-up ------------------------------------------------------------------------

function openStream() {
  if (S.stream) S.stream.close();
  S.stream = new EventSource(`/api/stream?session=${encodeURIComponent(S.session)}`);
  S.stream.onmessage = (e) => drawFrame(JSON.parse(e.data));
  S.stream.addEventListener("expired", () => {
    S.stream.close();
    say("This session expired after being idle; reload the page to start again (the URL keeps the settings).", true);
  });
}

function wire() {
  $("reset").addEventListener("click", () => rebuild());
  $("play").addEventListener("click", () => attempt(() =>
    api("/api/play", { session: S.session, playing: !S.frame.playing })));
  $("step").addEventListener("click", () => attempt(async () =>
    drawFrame(await api("/api/step", { session: S.session, n: 1 }))));
  for (const id of ["optimizer", "lr", "l2", "l1", "cost", "seed", "train", "noise", "batch"]) {
    $(id).addEventListener("change", () => rebuild());
  }
  for (const id of ["train", "noise", "batch"]) {
    $(id).addEventListener("input", () => { $(`${id}-out`).textContent = $(id).value; });
  }
  $("activation").addEventListener("change", () => {
    const n = Math.max(1, sizes().length - 2);
    rebuild({ activation: Array(n).fill($("activation").value).join(",") });
  });
  $("add-layer").addEventListener("click", () => changeLayers(1));
  $("remove-layer").addEventListener("click", () => changeLayers(-1));
  $("show-test").addEventListener("change", drawPointsNow);
  $("walk-start").addEventListener("click", () => { S.walkAt = 0; attempt(loadWalk); });
  $("walk-next").addEventListener("click", () => move(1));
  $("walk-prev").addEventListener("click", () => move(-1));
  $("walk-forward").addEventListener("click", () => jump(true));
  $("walk-backward").addEventListener("click", () => jump(false));
  $("example").addEventListener("change", () => { S.walkAt = 0; attempt(loadWalk); });
  $("walk-panel").addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT") return;
    if (e.key === "ArrowRight") { e.preventDefault(); move(1); }
    if (e.key === "ArrowLeft") { e.preventDefault(); move(-1); }
  });
  document.querySelectorAll("[data-experiment]").forEach((b) => b.addEventListener("click", () =>
    attempt(async () => {
      say(`running ${b.textContent} on this network…`);
      renderSection(await api("/api/experiment", { session: S.session, name: b.dataset.experiment }));
      say("");
    })));
  $("csv-file").addEventListener("change", () => {
    const file = $("csv-file").files[0];
    if (file) attempt(() => upload(file));
  });
  $("csv-use").addEventListener("click", () => attempt(useCsv));
}

async function start() {
  wire();
  const fromUrl = Object.fromEntries(new URLSearchParams(location.search));
  if (fromUrl.dataset === "csv") {
    delete fromUrl.dataset; delete fromUrl.problem;
    say("A CSV data set is not kept in the link; upload it again.", true);
  }
  let answer;
  try {
    answer = await api("/api/session", { params: fromUrl });
  } catch (err) {
    answer = await api("/api/session", { params: {} });
    say(`The link's settings were refused (${err.message}); the defaults are shown.`, true);
  }
  S.session = answer.session;
  S.choices = answer.choices;
  fillSelect($("optimizer"), S.choices.optimizers);
  fillSelect($("activation"), S.choices.activations);
  fillSelect($("l2"), REG); fillSelect($("l1"), REG);
  const buttons = S.choices.datasets.map((name) => {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = name; b.dataset.dataset = name;
    b.setAttribute("aria-pressed", "false");
    b.title = S.choices.regression.includes(name) ? "regression" : "classification";
    b.addEventListener("click", () => rebuild({ dataset: name, cost: S.choices.regression.includes(name) ? "squared_error" : $("cost").value }));
    return b;
  });
  $("datasets").replaceChildren(...buttons);
  show(answer);
  openStream();
  document.body.dataset.ready = "true";
}

document.addEventListener("DOMContentLoaded", () => attempt(start));
