// Run page: stage table and status every 2 s, curves every second (metrics.jsonl rows since the
// last poll), findings every 10 s. Everything comes from the server's reading of the run's files.
"use strict";
const RUN = document.getElementById("curves").dataset.run;
const API = "/api/runs/" + encodeURIComponent(RUN);
const KNOWN = new Set(["step", "epoch", "time", "padding", "loss", "lr", "grad_norm",
                       "tokens_seen", "loss_by_source", "eval_loss", "pref", "eval_pref"]);
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d",
                "#4d7c0f", "#78716c"];
const stages = {};  // name -> {rows, offset, charts: {key: {plot, names}}, el}

function num(v) {
  if (v === null || v === undefined || typeof v === "string") return null;  // "nan", "inf"
  return Number(v);
}

function numbers(obj) {  // the numeric fields of a nested metrics object ("nan" -> null)
  const out = {};
  for (const [k, v] of Object.entries(obj || {})) if (typeof v !== "object") out[k] = num(v);
  return out;
}

// Chart definitions: each returns {series name: value or null} for one row.
const CHARTS = [
  ["loss", "loss (train, eval per set, per source)", r => {
    const out = {};
    if ("loss" in r) out["train"] = num(r.loss);
    for (const [k, v] of Object.entries(r.eval_loss || {})) out["eval " + k] = num(v);
    for (const [k, v] of Object.entries(r.loss_by_source || {})) out["source " + k] = num(v);
    return out;
  }],
  ["lr", "learning rate", r => ("lr" in r ? {lr: num(r.lr)} : {})],
  ["grad_norm", "gradient norm", r => ("grad_norm" in r ? {grad_norm: num(r.grad_norm)} : {})],
  ["tokens", "tokens seen", r => ("tokens_seen" in r ? {tokens_seen: num(r.tokens_seen)} : {})],
  ["pref", "preference (train): rewards, margin, accuracy, KL", r => numbers(r.pref)],
  ["eval_pref", "preference (eval)", r => numbers(r.eval_pref)],
  ["other", "other metrics", r => {
    const out = {};
    for (const [k, v] of Object.entries(r)) {
      if (KNOWN.has(k)) continue;
      if (typeof v === "number") out[k] = v;
      else if (v && typeof v === "object")
        for (const [k2, v2] of Object.entries(v)) if (typeof v2 === "number") out[k + "/" + k2] = v2;
    }
    return out;
  }],
];

function fmt(v) {  // 3 significant digits: learning rates are 1e-5 .. 1e-3
  if (v === null) return "";
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-2 || a >= 1e5) ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}

function seriesData(rows, pick) {
  const steps = [], cols = {};
  rows.forEach((r, i) => {
    const vals = pick(r);
    if (!Object.keys(vals).length) return;
    steps.push(r.step);
    for (const [k, v] of Object.entries(vals)) {
      if (!(k in cols)) cols[k] = new Array(steps.length - 1).fill(null);
      cols[k].push(v);
    }
    for (const k of Object.keys(cols)) if (cols[k].length < steps.length) cols[k].push(null);
  });
  const names = Object.keys(cols).sort();
  return {names, data: [steps, ...names.map(n => cols[n])]};
}

function draw(stage) {
  const s = stages[stage];
  for (const [key, title, pick] of CHARTS) {
    const {names, data} = seriesData(s.rows, pick);
    const box = s.el.querySelector(`[data-chart="${key}"]`);
    if (!names.length) { box.hidden = true; continue; }
    box.hidden = false;
    const c = s.charts[key];
    if (c && c.names.join("|") === names.join("|")) {
      c.plot.setData(data);
    } else {
      if (c) c.plot.destroy();
      const opts = {
        title, width: Math.min(box.parentElement.clientWidth / 2 - 16, 520), height: 220,
        scales: {x: {time: false}},
        axes: [{}, {size: 64, values: (u, ticks) => ticks.map(fmt)}],
        series: [{label: "step"}, ...names.map((n, i) => ({
          label: n, stroke: COLORS[i % COLORS.length], spanGaps: true, width: 1.5,
          points: {show: data[0].length < 60}}))],
      };
      s.charts[key] = {names, plot: new uPlot(opts, data, box)};
    }
    box.dataset.points = String(data[0].length);
    box.dataset.lastStep = String(data[0][data[0].length - 1]);
  }
  const last = s.rows[s.rows.length - 1];
  s.el.querySelector(".last-row").textContent = last ?
    `${s.rows.length} rows; last step ${last.step}` + ("loss" in last ? `, loss ${last.loss}` : "") : "";
}

function ensureStage(stage) {
  if (stages[stage]) return;
  const el = document.createElement("section");
  el.className = "card stage-curves";
  el.dataset.stage = stage;
  const safe = stage.replace(/[^\w.-]/g, "_");  // stage names are plain (recipe names)
  el.innerHTML = `<h3>${safe} <span class="meta last-row"></span></h3><div class="charts">` +
    CHARTS.map(([k]) => `<div class="chart" data-chart="${k}" hidden></div>`).join("") + "</div>";
  document.getElementById("curves").appendChild(el);
  stages[stage] = {rows: [], offset: 0, charts: {}, el};
}

let polling = false;  // a slow answer must not overlap the next tick (rows would be added twice)
async function pollMetrics() {
  if (polling) return;
  polling = true;
  try { await pollStages(); } finally { polling = false; }
}

async function pollStages() {
  for (const stage of Object.keys(stages)) {
    const s = stages[stage];
    try {
      const r = await fetch(`${API}/metrics/${encodeURIComponent(stage)}?offset=${s.offset}`);
      if (!r.ok) continue;
      const got = await r.json();
      if (got.reset) s.rows = [];
      if (got.rows.length || got.reset) { s.rows.push(...got.rows); s.offset = got.offset; draw(stage); }
    } catch (e) { /* the UI restarting: try again next tick */ }
  }
}

function ensureRows(list) {  // the recipe appears after the page was drawn: add its stages
  const body = document.querySelector("#stages tbody");
  const have = [...body.querySelectorAll("tr[data-stage]")].map(r => r.dataset.stage);
  if (have.join("\n") === list.map(s => s.name).join("\n")) return;
  body.replaceChildren();
  for (const s of list) {
    const tr = document.createElement("tr");
    tr.dataset.stage = s.name;
    const cells = [["", s.name], ["", s.type], ["status", ""], ["read", ""], ["kept", ""],
                   ["rejected", ""], ["seconds", ""]];
    for (const [key, text] of cells) {
      const td = document.createElement("td");
      if (key === "status") { const c = document.createElement("span"); c.dataset.status = "";
                              td.appendChild(c); }
      else if (key) td.dataset[key] = "";
      if (["read", "kept", "seconds"].includes(key)) td.className = "num";
      if (key !== "status") td.textContent = text;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

async function pollStatus() {
  try {
    const r = await fetch(API);
    if (!r.ok) return;
    const info = await r.json();
    const st = document.getElementById("run-status");
    st.textContent = info.status; st.className = "status " + info.status;
    document.getElementById("run-detail").textContent = info.detail;
    document.getElementById("stop").disabled = info.status !== "running";
    document.getElementById("resume").disabled = ["running", "finished"].includes(info.status);
    document.getElementById("report-link").className = info.has_report ? "" : "missing";
    ensureRows(info.stages);
    for (const sg of info.stages) {
      if (sg.has_metrics) ensureStage(sg.name);
      const row = [...document.querySelectorAll("#stages tr[data-stage]")]
        .find(r => r.dataset.stage === sg.name);
      if (!row) continue;
      const chip = row.querySelector("[data-status]");
      chip.textContent = sg.status; chip.className = "chip " + sg.status;
      const c = sg.counts || {};
      if ("read" in c) {
        row.querySelector("[data-read]").textContent = c.read;
        row.querySelector("[data-kept]").textContent = c.kept;
        const reasons = Object.entries(c.rejected_by_reason || {}).map(([k, v]) => ` · ${k} ${v}`);
        row.querySelector("[data-rejected]").textContent = c.rejected + reasons.join("");
      }
      row.querySelector("[data-seconds]").textContent = sg.seconds ?? "";
    }
  } catch (e) { /* try again next tick */ }
}

async function pollFindings() {
  try {
    const r = await fetch(`${API}/findings`);
    if (!r.ok) return;
    const found = await r.json();
    const box = document.getElementById("findings");
    box.replaceChildren();
    for (const [stage, fs] of Object.entries(found)) {
      const h = document.createElement("h3"); h.textContent = stage; box.appendChild(h);
      if (!fs.length) { const p = document.createElement("p");
        p.textContent = "No findings: the curves look normal."; box.appendChild(p); }
      for (const f of fs) {
        const d = document.createElement("div");
        d.className = "finding " + f.severity;
        d.innerText = `${f.name} at step ${f.steps.slice(0, 8).join(", ")}\ncause ${f.cause}\nadvice ${f.advice}`;
        box.appendChild(d);
      }
    }
  } catch (e) { /* next tick */ }
}

async function post(path) {
  const out = document.getElementById("action-result");
  out.textContent = "…";
  const r = await fetch(`${API}/${path}`, {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"});
  const body = await r.json();
  out.textContent = r.ok ? `${path}: ok` : `${path}: ${body.error}`;
  pollStatus();
}

document.getElementById("stop").onclick = () => post("stop");
document.getElementById("resume").onclick = () => post("resume");
pollStatus().then(pollMetrics);
setInterval(pollMetrics, 1000);
setInterval(pollStatus, 2000);
setInterval(pollFindings, 10000);
