// The local ALB inspector's page: polls the inspector's JSON API once a second and builds every
// node with textContent (never innerHTML), so a request's HTML or script shows as text.
"use strict";

const state = { version: 0, rows: new Map(), selected: null, detail: null, reveal: false };
const POLL_MS = 1000;

function $(selector) {
  return document.querySelector(selector);
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `${response.status}`);
  return body;
}

function revealQuery() {
  return state.reveal ? "?reveal=1" : "";
}

// -------------------------------------------------------------------- the list

async function poll() {
  try {
    const changes = await api(`/api/exchanges?after=${state.version}`);
    const kept = new Set(changes.ids);
    for (const id of [...state.rows.keys()]) if (!kept.has(id)) state.rows.delete(id);
    for (const row of changes.rows) state.rows.set(row.id, row);
    const changed = changes.rows.some((row) => row.id === state.selected);
    state.version = changes.version;
    $("#kept").textContent = `Keeping the last ${changes.keep} requests.`;
    renderList();
    if (changed) await showDetail(state.selected);
    $("#status").textContent = "";
  } catch (error) {
    $("#status").textContent = `inspector unreachable (${error.message})`;
  }
}

function renderList() {
  const body = $("#exchanges tbody");
  const rows = [...state.rows.values()].sort((a, b) => b.id - a.id);
  body.replaceChildren(...rows.map(listRow));
  $("#empty").hidden = rows.length > 0;
}

function listRow(row) {
  const tr = element("tr");
  tr.dataset.id = row.id;
  if (row.id === state.selected) tr.classList.add("selected");
  const status = row.status === null ? "…" : row.status;
  const cells = [
    row.replay_of ? `${row.id} (replay of ${row.replay_of})` : row.id,
    new Date(row.time * 1000).toLocaleTimeString(),
    row.method,
    row.target,
    status,
    row.rule,
    row.target_name || row.action,
    row.duration_ms === null ? "" : `${row.duration_ms.toFixed(1)} ms`,
    row.cold_start === null ? "" : row.cold_start ? "yes" : "no",
  ];
  cells.forEach((text, index) => {
    const td = element("td", text);
    if (index === 3) td.className = "path";
    if (index === 4 && row.status !== null) td.className = `s${String(row.status)[0]}`;
    tr.append(td);
  });
  tr.addEventListener("click", () => showDetail(row.id));
  return tr;
}

// -------------------------------------------------------------------- one request

async function showDetail(id) {
  state.selected = id;
  $("#copied-box").hidden = true; // what was copied belonged to the previous request
  for (const tr of document.querySelectorAll("#exchanges tbody tr")) {
    tr.classList.toggle("selected", Number(tr.dataset.id) === id);
  }
  let detail;
  try {
    detail = await api(`/api/exchanges/${id}${revealQuery()}`);
  } catch (error) {
    $("#detail-title").textContent = error.message;
    return;
  }
  state.detail = detail;
  $("#detail").hidden = false;
  const replay = detail.replay_of ? ` (replay of #${detail.replay_of})` : "";
  $("#detail-title").textContent = `#${detail.id} ${detail.method} ${detail.target}${replay}`;
  const outcome = $("#detail-outcome");
  outcome.replaceChildren(
    element("strong", detail.status === null ? "in flight" : detail.status, `s${String(detail.status)[0]}`),
    document.createTextNode(
      ` · ${detail.rule} · ${detail.action}` +
        (detail.environment ? ` · ${detail.environment}` : "") +
        (detail.cold_start ? " · cold start" : "") +
        (detail.duration_ms === null ? "" : ` · ${detail.duration_ms} ms`),
    ),
  );
  renderJudgement(detail.judgement);
  $("#request").replaceChildren(headerTable(detail.request.headers), bodyView(detail.request.body));
  renderListener(detail.listener);
  $("#event").textContent = detail.event === null ? "No event: the request did not reach a Lambda function." : json(detail.event);
  if (detail.event_truncated) $("#event").append(element("span", "\n[the body is cut: the inspector keeps a bounded part]", "note"));
  $("#answer").textContent = detail.answer === null ? "No answer from a function." : json(detail.answer);
  $("#response").replaceChildren(headerTable(detail.response.headers), bodyView(detail.response.body));
  const logs = detail.logs.length ? detail.logs.join("\n") : "No log lines.";
  $("#logs").textContent = logs + (detail.logs_dropped ? `\n[${detail.logs_dropped} more lines not kept]` : "");
  $("#copy-event").disabled = detail.event === null;
  $("#copy-invoke").disabled = !detail.invoke_command;
  fillReplay(detail);
}

function json(value) {
  return JSON.stringify(value, null, 2);
}

function renderJudgement(judgement) {
  const box = $("#judgement");
  const parts = [];
  if (judgement.reason) parts.push(element("p", `ALB answered ${judgement.status}: ${judgement.reason}`, "reason"));
  else if (judgement.status !== null) parts.push(element("p", `Status ${judgement.status}, passed on.`));
  if (judgement.notes.length) {
    const list = element("ul");
    for (const note of judgement.notes) list.append(element("li", note, "note"));
    parts.push(list);
  } else {
    parts.push(element("p", "Nothing dropped, replaced or decoded.", "muted"));
  }
  box.replaceChildren(...parts);
}

function renderListener(listener) {
  const box = $("#listener");
  const parts = [];
  if (listener.refusal) parts.push(element("p", listener.refusal, "reason"));
  if (listener.trace.length) {
    const list = element("ol", null, "trace");
    for (const verdict of listener.trace) {
      list.append(
        element(
          "li",
          `priority ${verdict.priority}: ${verdict.matched ? "matched" : "did not match"} (${verdict.reason})`,
          verdict.matched ? "matched" : "missed",
        ),
      );
    }
    parts.push(list);
  }
  if (!listener.refusal) {
    parts.push(element("p", `Chose: ${listener.rule} → ${listener.action}`));
  }
  box.replaceChildren(...parts);
}

function headerTable(headers) {
  const table = element("table", null, "headers");
  const body = element("tbody");
  for (const [name, value] of headers) {
    const tr = element("tr");
    tr.append(element("td", name), element("td", value));
    body.append(tr);
  }
  table.append(body);
  return table;
}

function bodyView(body) {
  const box = element("div");
  if (body.kind === "empty") {
    box.append(element("p", body.size ? `${body.size} bytes (none kept)` : "No body.", "muted"));
  } else if (body.kind === "text") {
    box.append(element("p", `${body.size} bytes, text`, "muted"), element("pre", body.text));
  } else {
    box.append(element("p", `${body.size} bytes, binary`, "muted"), element("pre", body.hex));
  }
  for (const note of body.notes || []) box.append(element("p", note, "note"));
  return box;
}

// -------------------------------------------------------------------- copy and replay

function copy(text) {
  $("#copied").value = text;
  $("#copied-box").hidden = false;
  if (navigator.clipboard) navigator.clipboard.writeText(text).catch(() => {});
}

function fillReplay(detail) {
  const form = $("#replay");
  form.elements.method.value = detail.method;
  form.elements.target.value = detail.target;
  form.elements.headers.value = detail.request.headers.map(([n, v]) => `${n}: ${v}`).join("\n");
  const body = detail.request.body;
  form.elements.body.value = body.kind === "text" ? body.text : "";
  form.elements.body.disabled = body.kind === "binary";
}

async function replay(event) {
  event.preventDefault();
  const detail = state.detail;
  if (!detail) return;
  const form = $("#replay");
  const headers = form.elements.headers.value
    .split("\n")
    .filter((line) => line.includes(":"))
    .map((line) => {
      const at = line.indexOf(":");
      return [line.slice(0, at).trim(), line.slice(at + 1).trim()];
    });
  const request = {
    id: detail.id,
    method: form.elements.method.value,
    target: form.elements.target.value,
    headers,
  };
  if (!form.elements.body.disabled) request.body = form.elements.body.value;
  try {
    const answer = await api("/api/replay", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request),
    });
    $("#replay-result").textContent = `sent: #${answer.id} answered ${answer.status}`;
    await poll();
  } catch (error) {
    $("#replay-result").textContent = `not sent: ${error.message}`;
  }
}

// -------------------------------------------------------------------- rules and health

async function showRules() {
  const rules = await api("/api/rules");
  $("#rules-source").textContent = `Listener: ${rules.source}`;
  const rows = rules.rules.map((rule) => {
    const tr = element("tr");
    const action = rule.authenticate ? `authenticate-${rule.authenticate}, then ${rule.action}` : rule.action;
    tr.append(element("td", rule.priority), element("td", rule.conditions.join(" and ")), element("td", action));
    return tr;
  });
  const fallback = element("tr");
  fallback.append(element("td", "default"), element("td", "(any request)"), element("td", rules.default));
  $("#rules-table tbody").replaceChildren(...rows, fallback);
  $("#targets-table tbody").replaceChildren(
    ...rules.targets.map((target) => {
      const tr = element("tr");
      tr.append(
        element("td", target.name),
        element("td", target.kind),
        element("td", target.where),
        element("td", target.environments || "-"),
        element("td", target.multi_value_headers ? "on" : "off"),
        element("td", `${target.timeout} s`),
      );
      return tr;
    }),
  );
}

async function showHealth() {
  const health = await api("/api/health");
  $("#health-table tbody").replaceChildren(
    ...health.targets.map((target) => {
      const tr = element("tr");
      let last = "";
      if (target.broken) last = `failed to load: ${target.broken}`;
      else if (target.last_checked) {
        const when = new Date(target.last_checked * 1000).toLocaleTimeString();
        last = `${target.last_status ?? target.last_detail} at ${when}`;
      }
      tr.append(
        element("td", target.name),
        element("td", target.state),
        element("td", target.path || "-"),
        element("td", last),
        element("td", target.checked ? `${target.successes} / ${target.failures}` : "-"),
      );
      return tr;
    }),
  );
}

function showTab(name) {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.setAttribute("aria-pressed", String(tab.dataset.tab === name));
  }
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== name;
  if (name === "rules") showRules();
  if (name === "health") showHealth();
}

// -------------------------------------------------------------------- start

document.addEventListener("DOMContentLoaded", () => {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => showTab(tab.dataset.tab));
  }
  $("#reveal").addEventListener("change", (event) => {
    state.reveal = event.target.checked;
    $("#har").href = `/api/har${revealQuery()}`;
    if (state.selected !== null) showDetail(state.selected);
  });
  $("#clear").addEventListener("click", async () => {
    await api("/api/clear", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    state.rows.clear();
    state.selected = null;
    $("#detail").hidden = true;
    await poll();
  });
  $("#copy-event").addEventListener("click", () => state.detail && copy(json(state.detail.event)));
  $("#copy-invoke").addEventListener("click", () => state.detail && copy(state.detail.invoke_command));
  $("#replay").addEventListener("submit", replay);
  poll();
  setInterval(poll, POLL_MS);
});
