// Playground: POST the questions, show each model's answers in columns.
"use strict";
const $ = id => document.getElementById(id);
async function ask() {
  const models = [...document.querySelectorAll("#models input:checked")].map(e => e.value);
  const body = {
    run: $("models").dataset.run, models,
    questions: $("questions").value.split("\n").map(s => s.trim()).filter(Boolean),
    system: $("system").value || null, max_tokens: Number($("max-tokens").value),
    server: $("server").value.trim() || null, save_sheet: $("save-sheet").checked,
  };
  $("chat-status").textContent = "generating…";
  const r = await fetch("/api/chat", {method: "POST", headers: {"Content-Type": "application/json"},
                                      body: JSON.stringify(body)});
  const got = await r.json();
  if (!r.ok) { $("chat-status").textContent = "error: " + JSON.stringify(got.error); return; }
  $("chat-status").textContent = got.sheet ? "review sheet saved: runs/" + got.sheet : "";
  const box = $("answers");
  box.replaceChildren();
  body.questions.forEach((q, i) => {
    const h = document.createElement("h3"); h.textContent = q; box.appendChild(h);
    const row = document.createElement("div"); row.className = "side";
    for (const m of models) {
      const d = document.createElement("div"); d.dataset.model = m;
      const b = document.createElement("b"); b.textContent = m;
      const p = document.createElement("p"); p.className = "answer"; p.textContent = got.answers[m][i];
      d.append(b, p); row.appendChild(d);
    }
    box.appendChild(row);
  });
}
if ($("ask")) $("ask").onclick = ask;
