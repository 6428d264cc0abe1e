// Launcher: check the YAML on every pause in typing; launch saves and starts it detached.
"use strict";
const $ = id => document.getElementById(id);
function form() {
  return {
    yaml: $("yaml").value,
    overrides: $("overrides").value.split("\n").map(s => s.trim()).filter(Boolean),
    save_as: $("save-as").value.trim(),
  };
}
async function send(path) {
  const r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                               body: JSON.stringify(form())});
  return [r.ok, await r.json()];
}
function showErrors(box, errors) {
  box.replaceChildren();
  const d = document.createElement("div");
  if (errors.length) { d.className = "errors"; d.textContent = errors.join("\n"); }
  else { d.className = "ok"; d.textContent = "check: ok"; }
  box.appendChild(d);
}
let latest = 0;  // answers can arrive out of order: only the newest request's is shown
async function check() {
  const mine = ++latest;
  const [, got] = await send("/api/check");
  if (mine !== latest) return got.ok;
  showErrors($("check-result"), got.errors || [String(got.error)]);
  $("command").textContent = got.command || "";
  $("launch").disabled = !got.ok;
  return got.ok;
}
async function launch() {
  if (!(await check())) return;
  const [ok, got] = await send("/api/launch");
  const box = $("launch-result");
  if (ok) { location.href = got.url; return; }
  const err = got.error;
  showErrors(box, typeof err === "string" ? [err] : err.errors || [err.message]);
}
let timer = null;
for (const id of ["yaml", "overrides", "save-as"])
  $(id).addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 400); });
$("check").onclick = check;
$("launch").onclick = launch;
check();
