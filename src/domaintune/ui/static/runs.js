// Runs list: each run's status, stages and last metrics, re-read from the server every 2 s.
"use strict";
function esc(t) { const d = document.createElement("div"); d.textContent = String(t); return d.innerHTML; }
function fmtTime(t) { return t ? new Date(t * 1000).toLocaleString() : ""; }
function fill() {
  for (const td of document.querySelectorAll("[data-started]")) td.textContent = fmtTime(Number(td.dataset.started));
}
async function refresh() {
  try {
    const r = await fetch("/api/runs");
    if (!r.ok) return;
    const runs = await r.json();
    const known = new Set([...document.querySelectorAll("tr[data-run]")].map(e => e.dataset.run));
    if (runs.some(x => !known.has(x.name))) { location.reload(); return; }
    for (const run of runs) {
      const row = document.querySelector(`tr[data-run="${run.name}"]`);
      const st = row.querySelector("[data-status]");
      st.textContent = run.status; st.className = "status " + run.status;
      row.querySelector("[data-stages]").innerHTML = run.stages.map(s =>
        `<span class="chip ${esc(s.status)}" title="${esc(s.type)}: ${esc(s.status)}">${esc(s.name)}</span>`).join("");
      const m = run.last_metrics;
      row.querySelector("[data-last]").textContent = m ? `${m.stage} step ${m.step}, loss ${m.loss}` : "";
    }
  } catch (e) { /* next tick */ }
}
fill();
setInterval(refresh, 2000);
