/* The kernel-free explorer of the book (rnn_core/explore_static.py computes its data).
 *
 * Every page loads this file; on a page with a <div class="rnn-explorer" data-open='{...}'>
 * it loads the grid (_static/rnn-explorer/index.js) and, for the chosen cell, init (and LSTM
 * forget bias), one chunk of results computed by rnn_core.explore at build time. Moving a
 * control only PICKS another precomputed result and draws it: nothing is computed here
 * beyond axis scaling. Files are loaded as <script>s so the book also works from file://.
 */
(function () {
  "use strict";
  const BASE = document.currentScript.src.replace(/[^/]*$/, "") + "rnn-explorer/";
  const SVG = "http://www.w3.org/2000/svg";
  const LABELS = {"rnn-tanh": "RNN (tanh)", "rnn-relu": "RNN (ReLU)", "lstm": "LSTM", "gru": "GRU",
                  "gaussian": "Gaussian", "xavier": "Xavier", "orthogonal": "orthogonal"};
  const CONTROLS = [  // name, label, kind
    ["cell", "cell", "select"], ["init", "initialisation", "select"],
    ["radius", "spectral radius ρ", "range"], ["T", "sequence length T", "range"],
    ["forget_bias", "forget bias b_f (LSTM)", "range"], ["input_scale", "input scale", "range"]];
  const loading = {};
  let uid = 0;

  const store = window.RNNExplorer = {
    grid: null, chunks: {},
    setGrid(meta) { this.grid = meta; },
    add(chunk) { this.chunks[chunk.name] = chunk; },
    chunkName(s) { return s.cell + "-" + s.init + (s.cell === "lstm" ? "-fb" + s.forget_bias : ""); },
  };

  function load(file) {       // one <script> per file, once
    if (!loading[file]) loading[file] = new Promise((resolve, reject) => {
      const el = document.createElement("script");
      el.src = BASE + file;
      el.onload = resolve;
      el.onerror = () => reject(new Error("rnn-explorer: could not load " + el.src));
      document.head.appendChild(el);
    });
    return loading[file];
  }

  function el(tag, attrs, parent, ns) {
    const e = ns ? document.createElementNS(SVG, tag) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }
  const svgEl = (tag, attrs, parent) => el(tag, attrs, parent, true);
  function text(parent, x, y, str, attrs) {
    const t = svgEl("text", Object.assign({x, y}, attrs || {}), parent);
    t.textContent = str;
    return t;
  }
  const fmt = v => String(v);
  function sci(log10v) {     // 10^x as "3.2 × 10⁻⁵" (2 significant digits)
    if (log10v === null) return "0";
    const e = Math.floor(log10v + 1e-9), m = Math.pow(10, log10v - e);
    const sup = String(e).replace(/-/g, "⁻").replace(/\d/g, d => "⁰¹²³⁴⁵⁶⁷⁸⁹"[d]);
    if (e >= -2 && e <= 3) return Number(Math.pow(10, log10v).toPrecision(2)).toString();
    return m.toFixed(1) + " × 10" + sup;
  }

  class Explorer {
    constructor(root) {
      this.root = root;
      this.id = "rnnx" + (uid++);
      this.open = JSON.parse(root.dataset.open);
      const g = store.grid.grid;
      this.index = {};       // control -> index into the grid (selects: the value itself)
      for (const [name] of CONTROLS) this.index[name] = g[name].indexOf(this.open[name]);
      root.innerHTML = "";
      root.classList.add("rnn-explorer-live");
      const head = el("p", {class: "rnn-explorer-caption"}, root);
      head.textContent = "Kernel-free explorer: each setting was computed by rnn_core.explore when the book " +
        "was built (H = " + store.grid.fixed.H + " units, batch of " + store.grid.fixed.B + " random sequences, " +
        "seed " + store.grid.fixed.seed + "); moving a control picks another precomputed result.";
      const form = el("div", {class: "rnn-explorer-controls"}, root);
      this.inputs = {}; this.outputs = {};
      for (const [name, label, kind] of CONTROLS) {
        const lab = el("label", {class: "rnn-explorer-control"}, form);
        const span = el("span", {class: "rnn-explorer-name"}, lab);
        span.textContent = label;
        let input;
        if (kind === "select") {
          input = el("select", {name}, lab);
          g[name].forEach((v, i) => { const o = el("option", {value: i}, input); o.textContent = LABELS[v]; });
          input.value = this.index[name];
          input.addEventListener("change", () => this.set(name, Number(input.value)));
        } else {
          input = el("input", {type: "range", name, min: 0, max: g[name].length - 1, step: 1,
                               value: this.index[name]}, lab);
          input.addEventListener("input", () => this.set(name, Number(input.value)));
          input.setAttribute("aria-label", label);
        }
        const out = el("output", {class: "rnn-explorer-value", for: name}, lab);
        this.inputs[name] = input; this.outputs[name] = out;
      }
      const figs = el("div", {class: "rnn-explorer-figures"}, root);
      this.legend = el("div", {class: "rnn-explorer-legend"}, figs);
      this.gradBox = el("div", {class: "rnn-explorer-figure"}, figs);
      this.heatBox = el("div", {class: "rnn-explorer-figure"}, figs);
      this.readout = el("p", {class: "rnn-explorer-readout"}, root);
      this.width = 0;
      new ResizeObserver(() => requestAnimationFrame(() => {     // redraw at the new width, after layout
        if (figs.clientWidth !== this.width) this.draw();
      })).observe(figs);
      this.figs = figs;
      this.draw();
    }

    settings() {
      const g = store.grid.grid, s = {};
      for (const [name] of CONTROLS) s[name] = g[name][this.index[name]];
      return s;
    }

    set(name, i) { this.index[name] = i; this.draw(); }

    async draw() {
      const s = this.settings(), key = JSON.stringify(s), chunk = store.chunkName(s);
      this.root.dataset.state = "loading";
      this.wanted = key;
      for (const [name] of CONTROLS) {
        this.outputs[name].textContent = name === "cell" || name === "init" ? "" :
          (name === "forget_bias" && s.cell !== "lstm" ? "(LSTM only)" : "= " + fmt(s[name]));
        if (name === "forget_bias") this.inputs[name].disabled = s.cell !== "lstm";
      }
      await load(chunk + ".js");
      if (this.wanted !== key) return;      // a newer move is on its way
      const c = store.chunks[chunk], g = store.grid.grid;
      const i = this.index.radius, j = this.index.input_scale, k = this.index.T;
      const run = c.runs[i][j][k], hidden = c.hidden[i][j];
      this.width = this.figs.clientWidth;
      this.drawGradients(run, s, c.sigma[i]);
      this.drawHidden(hidden, run, s);
      this.root.dataset.shown = key;
      this.root.dataset.state = "ready";
    }

    drawGradients(run, s, sigma) {
      const W = Math.max(280, this.gradBox.clientWidth), H = W < 500 ? 250 : 300;
      const m = {l: 58, r: 14, t: 30, b: 46};
      const box = this.gradBox; box.innerHTML = "";
      const svg = svgEl("svg", {width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: "rnn-explorer-grad",
                                role: "img", "aria-label": "gradient norms against steps back, log scale"}, box);
      const vals = run.g.concat(run.j).filter(v => v !== null);
      const lo = Math.min(...vals) / 1000 - Math.log10(3), hi = Math.max(0, Math.max(...vals) / 1000) + Math.log10(3);
      const T = s.T, px0 = m.l, px1 = W - m.r, py0 = H - m.b, py1 = m.t;
      const X = k => px0 + (px1 - px0) * k / T, Y = v => py0 - (py0 - py1) * (v - lo) / (hi - lo);
      const plot = svgEl("g", {class: "rnn-explorer-plot", "data-x": [0, T, px0, px1].join(","),
                               "data-y": [lo, hi, py0, py1].join(",")}, svg);
      const clip = svgEl("clipPath", {id: this.id + "-clip"}, svgEl("defs", {}, svg));
      svgEl("rect", {x: px0, y: py1, width: px1 - px0, height: py0 - py1}, clip);
      // grid and ticks: decades on y, round steps on x
      const span = hi - lo, stride = [1, 2, 5, 10, 20, 50].find(d => span / d <= 7) || 100;
      for (let e = Math.ceil(lo / stride) * stride; e <= hi; e += stride) {
        svgEl("line", {x1: px0, x2: px1, y1: Y(e), y2: Y(e), class: "rnn-explorer-grid"}, plot);
        const t = text(plot, px0 - 6, Y(e) + 4, "10", {"text-anchor": "end", class: "rnn-explorer-tick"});
        const sup = svgEl("tspan", {dy: -6, "font-size": "0.8em"}, t); sup.textContent = String(e);
      }
      const xstep = [5, 10, 25, 50].find(d => T / d <= 5) || 50;
      for (let kx = 0; kx <= T; kx += xstep) {
        svgEl("line", {x1: X(kx), x2: X(kx), y1: py0, y2: py1, class: "rnn-explorer-grid"}, plot);
        text(plot, X(kx), py0 + 16, String(kx), {"text-anchor": "middle", class: "rnn-explorer-tick"});
      }
      svgEl("rect", {x: px0, y: py1, width: px1 - px0, height: py0 - py1, class: "rnn-explorer-frame"}, plot);
      text(svg, (px0 + px1) / 2, H - 8, "steps back from the end, T − t", {"text-anchor": "middle", class: "rnn-explorer-label"});
      text(svg, 14, (py0 + py1) / 2, "norm (log scale)",
           {"text-anchor": "middle", class: "rnn-explorer-label", transform: `rotate(-90 14 ${(py0 + py1) / 2})`});
      text(svg, px0, 18, "Gradient flowing back from h_T", {class: "rnn-explorer-title"});
      const curve = (codes, cls) => {       // a path through the stored points; a gap where a value is 0
        let d = "", pen = "M";
        codes.forEach((v, kx) => {
          if (v === null) { pen = "M"; return; }
          d += pen + X(kx).toFixed(2) + " " + Y(v / 1000).toFixed(2) + " "; pen = "L";
        });
        return svgEl("path", {d, class: cls, "clip-path": `url(#${this.id}-clip)`, "data-codes": codes.join(",")}, plot);
      };
      if (run.b !== null)                   // (σ_max)^k: a straight line on the log axis, from 1 at k = 0
        svgEl("path", {d: `M${X(0).toFixed(2)} ${Y(0).toFixed(2)} L${X(T).toFixed(2)} ${Y(run.b / 1000).toFixed(2)}`,
                       class: "rnn-explorer-bound", "clip-path": `url(#${this.id}-clip)`, "data-codes": "0," + run.b}, plot);
      curve(run.j, "rnn-explorer-jac");
      curve(run.g, "rnn-explorer-g");
      this.legend.innerHTML =
        '<span><i class="rnn-explorer-key g"></i>‖∂L/∂h<sub>t</sub>‖ (backward pass)</span>' +
        '<span><i class="rnn-explorer-key jac"></i>‖∂h<sub>T</sub>/∂h<sub>t</sub>‖<sub>2</sub></span>' +
        (run.b !== null ? '<span><i class="rnn-explorer-key bound"></i>bound (γ σ<sub>max</sub>)<sup>T−t</sup>, γ = 1</span>'
                        : '<span class="rnn-explorer-nobound">(no Pascanu bound for gated cells)</span>');
      const last = run.g[T], lastJ = run.j[T];     // stored as 1000·log10(value)
      this.readout.innerHTML = `At T − t = ${T} (the first step): ‖∂L/∂h<sub>0</sub>‖ = <b>${sci(last === null ? null : last / 1000)}</b>, ` +
        `‖∂h<sub>T</sub>/∂h<sub>0</sub>‖<sub>2</sub> = <b>${sci(lastJ === null ? null : lastJ / 1000)}</b>` +
        (run.b !== null ? `, bound = <b>${sci(run.b / 1000)}</b>` : "") +
        `; σ<sub>max</sub>(W<sub>h</sub>) = <b>${sigma.toFixed(2)}</b>; ` +
        `${(100 * run.s).toFixed(0)} % of the hidden states have |h| &gt; 0.99.`;
    }

    drawHidden(hidden, run, s) {
      const [vmax, codes] = hidden, Hn = store.grid.fixed.H, T = s.T;
      const alphabet = store.grid.alphabet, colors = store.grid.colors;
      const W = Math.max(280, this.heatBox.clientWidth), narrow = W < 500, H = narrow ? 270 : 280;
      const m = {l: 58, r: 14, t: narrow ? 48 : 30, b: 84};
      const box = this.heatBox; box.innerHTML = "";
      // one pixel per (time step, unit) on a canvas, shown scaled in the SVG
      const canvas = document.createElement("canvas");
      canvas.width = T; canvas.height = Hn;
      const ctx = canvas.getContext("2d"), img = ctx.createImageData(T, Hn);
      for (let t = 0; t < T; t++) for (let u = 0; u < Hn; u++) {
        const c = colors[alphabet.indexOf(codes[t * Hn + u])], p = 4 * ((Hn - 1 - u) * T + t);
        img.data[p] = parseInt(c.slice(1, 3), 16); img.data[p + 1] = parseInt(c.slice(3, 5), 16);
        img.data[p + 2] = parseInt(c.slice(5, 7), 16); img.data[p + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
      const svg = svgEl("svg", {width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: "rnn-explorer-heat",
                                role: "img", "aria-label": "hidden states of one sequence, units against time"}, box);
      const px0 = m.l, px1 = W - m.r, py0 = H - m.b, py1 = m.t;
      svgEl("image", {href: canvas.toDataURL(), x: px0, y: py1, width: px1 - px0, height: py0 - py1,
                      preserveAspectRatio: "none", class: "rnn-explorer-image", "data-t": T}, svg);
      svgEl("rect", {x: px0, y: py1, width: px1 - px0, height: py0 - py1, class: "rnn-explorer-frame"}, svg);
      const xstep = [5, 10, 25, 50].find(d => T / d <= 5) || 50;
      for (let t = xstep; t <= T; t += xstep)
        text(svg, px0 + (px1 - px0) * (t - 0.5) / T, py0 + 15, String(t), {"text-anchor": "middle", class: "rnn-explorer-tick"});
      for (const u of [0, 8, 16, 24, 31])
        text(svg, px0 - 6, py0 - (py0 - py1) * (u + 0.5) / Hn + 4, String(u), {"text-anchor": "end", class: "rnn-explorer-tick"});
      text(svg, (px0 + px1) / 2, py0 + 32, "time step t", {"text-anchor": "middle", class: "rnn-explorer-label"});
      text(svg, 14, (py0 + py1) / 2, "hidden unit",
           {"text-anchor": "middle", class: "rnn-explorer-label", transform: `rotate(-90 14 ${(py0 + py1) / 2})`});
      const saturated = `${(100 * run.s).toFixed(0)} % with |h| > 0.99`;   // two lines on a phone
      text(svg, px0, 18, "Hidden states, one sequence" + (narrow ? "" : ": "), {class: "rnn-explorer-title"})
        .appendChild(svgEl("tspan", narrow ? {x: px0, dy: 18} : {})).textContent = saturated;
      // colour bar under the axis title: -vmax .. vmax
      const cb = {x: px0 + (px1 - px0) * 0.25, w: (px1 - px0) * 0.5, y: H - 30, h: 10};
      const grad = svgEl("linearGradient", {id: this.id + "-cb"}, svgEl("defs", {}, svg));
      colors.forEach((c, q) => svgEl("stop", {offset: q / (colors.length - 1), "stop-color": c}, grad));
      svgEl("rect", {x: cb.x, y: cb.y, width: cb.w, height: cb.h, fill: `url(#${this.id}-cb)`,
                     class: "rnn-explorer-colorbar"}, svg);
      const v = Number(vmax.toPrecision(3));
      text(svg, cb.x - 6, cb.y + 10, "h = " + (-v), {"text-anchor": "end", class: "rnn-explorer-tick"});
      text(svg, cb.x + cb.w / 2, cb.y + cb.h + 15, "0", {"text-anchor": "middle", class: "rnn-explorer-tick"});
      text(svg, cb.x + cb.w + 6, cb.y + 10, String(v), {class: "rnn-explorer-tick"});
    }
  }

  async function start() {
    const roots = document.querySelectorAll(".rnn-explorer[data-open]");
    if (!roots.length) return;
    try {
      await load("index.js");
      roots.forEach(r => new Explorer(r));
    } catch (err) {
      roots.forEach(r => { r.dataset.state = "error"; });
      console.error(err);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
