// Drawing only: colours, canvases and SVG from the numbers the server sent.
// Nothing here computes the network's mathematics; values are only mapped to pixels.
"use strict";

const Draw = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const ORANGE = [245, 147, 34], BLUE = [8, 119, 189], WHITE = [232, 234, 235];

  // A value in [-1, 1] as a colour: orange below 0, blue above (clamped).
  function rgb(v) {
    if (v === null || Number.isNaN(v)) return [128, 128, 128];
    const t = Math.max(-1, Math.min(1, v));
    const end = t < 0 ? ORANGE : BLUE, w = Math.abs(t);
    return WHITE.map((c, i) => Math.round(c + (end[i] - c) * w));
  }

  // The value a unit's colour is read from: a sigmoid output in [0, 1] is centred at ½.
  function shade(v, centred) {
    if (v === null) return null;
    return centred ? 2 * v - 1 : v;
  }

  // centred: a sigmoid's [0, 1] shown about ½; scaled: shown relative to the largest |value|.
  function surface(canvas, values, grid, centred, scaled) {
    canvas.width = grid; canvas.height = grid;
    const top = scaled ? Math.max(1e-12, ...values.map((v) => Math.abs(v || 0))) : 1;
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(grid, grid);
    for (let k = 0; k < values.length; k++) {
      const v = values[k] === null ? null : values[k] / top;
      const c = rgb(shade(v, centred));
      img.data[4 * k] = c[0]; img.data[4 * k + 1] = c[1]; img.data[4 * k + 2] = c[2];
      img.data[4 * k + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  function points(svg, data, showTest, regression, highlight) {
    svg.replaceChildren();
    const r = data.radius, size = 300;
    const pos = (x) => ((x + r) / (2 * r)) * size;
    data.points.forEach((p, k) => {
      if (!data.train[k] && !showTest) return;
      const v = regression ? data.target[k] : 2 * data.target[k] - 1;
      const c = rgb(v);
      el("circle", {
        cx: pos(p[0]).toFixed(1), cy: (size - pos(p[1])).toFixed(1), r: 3.2,
        fill: `rgb(${c.join(",")})`, stroke: data.train[k] ? "#fff" : "#000",
        "stroke-width": data.train[k] ? 0.8 : 1.2,
      }, svg);
    });
    if (highlight) {
      el("circle", {
        cx: pos(highlight[0]).toFixed(1), cy: (size - pos(highlight[1])).toFixed(1), r: 8,
        fill: "none", stroke: "#d62728", "stroke-width": 2.5, class: "example-ring",
      }, svg);
    }
  }

  function curve(svg, c) {
    svg.replaceChildren();
    const n = c.step.length;
    if (!n) return;
    const all = c.train.concat(c.test).filter((v) => v !== null);
    const top = Math.max(...all, 1e-12), first = c.step[0], last = Math.max(c.step[n - 1], first + 1);
    const line = (ys, colour) => {
      const pts = ys.map((y, k) => y === null ? null :
        `${(((c.step[k] - first) / (last - first)) * 300).toFixed(1)},${(78 - (y / top) * 74).toFixed(1)}`)
        .filter(Boolean).join(" ");
      el("polyline", { points: pts, fill: "none", stroke: colour, "stroke-width": 1.5 }, svg);
    };
    line(c.test, "#9aa5ad");
    line(c.train, "#222");
  }

  return { rgb, shade, surface, el, points, curve };
})();
