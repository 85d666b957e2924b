// The page: read the server and its modules (inlined, or GET /modules), then a card per module.

import { apiKeys, call } from "./api.js";
import { moduleCard } from "./card.js";
import { h } from "./dom.js";
import { askKey } from "./keydialog.js";

const LOADING_POLL_MS = 1500;
const REFRESH_MS = 20000;

const state = { server: null, receivedAt: 0, signature: "", cards: [], lastPicker: null, polling: false };

function uptime(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

function serverUptime() {
  return uptime(state.server.uptime_s + (performance.now() - state.receivedAt) / 1000);
}

function renderServer() {
  const server = state.server;
  if (!server) return;
  const item = (term, value, className) =>
    h("div", {}, h("dt", { text: term }), h("dd", { class: className, text: value }));
  const status = server.ready ? "ready" : "loading models…";
  document
    .getElementById("server-info")
    .replaceChildren(
      item("version", server.version, "server-version"),
      item("mode", server.mode, "server-mode"),
      item("workers", String(server.workers), "server-workers"),
      item("status", status, `server-ready ${server.ready ? "is-ready" : "is-loading"}`),
      item("up", serverUptime(), "server-uptime"),
      item("timeout", `${server.timeout_s} s`, "server-timeout"),
    );
  document.getElementById("key-status").hidden = !apiKeys.get();
}

function tick() {
  const node = document.querySelector("#server-info .server-uptime");
  if (state.server && node) node.textContent = serverUptime();
}

function notice(message, ...extra) {
  document
    .getElementById("modules")
    .replaceChildren(h("div", { class: "notice", role: "status" }, h("p", { text: message }), ...extra));
}

function renderModules(modules) {
  const main = document.getElementById("modules");
  const nav = document.getElementById("module-nav");
  state.cards = modules.map((module) => moduleCard(module, state.server.timeout_s));
  state.lastPicker = null;
  if (!modules.length) {
    notice(state.server.ready ? "This server serves no modules." : "The models are loading…");
  } else {
    main.replaceChildren(...state.cards.map((card) => card.element));
  }
  nav.replaceChildren(
    ...modules.map((module, index) =>
      h("a", { href: `#${state.cards[index].element.id}`, class: `nav-${module.category || "other"}` }, module.name),
    ),
  );
  nav.hidden = modules.length < 2;
}

function signatureOf(modules) {
  return modules.map((module) => `${module.name}==${module.version}`).join(" ");
}

function accept(data) {
  state.server = data.server;
  state.receivedAt = performance.now();
  renderServer();
  const signature = signatureOf(data.modules);
  if (signature !== state.signature || !state.cards.length) {
    state.signature = signature;
    renderModules(data.modules);
  }
}

function inlined() {
  const block = document.getElementById("hub-modules");
  if (!block) return null;
  try {
    return JSON.parse(block.textContent);
  } catch {
    return null;
  }
}

/** A refresh failed: say so where the status is, until the next one works. */
function markUnreachable(text = "unreachable") {
  const node = document.querySelector("#server-info .server-ready");
  if (!node) return;
  node.textContent = text;
  node.className = "server-ready is-loading";
}

/** GET /modules (asking for the key when needed); true when the page got the modules. */
async function load() {
  let answer;
  try {
    answer = await call("modules", undefined, askKey);
  } catch (error) {
    if (!state.server) notice(`Could not reach the server: ${error.message}`);
    else markUnreachable();
    return false;
  }
  if (answer.httpStatus === 200 && answer.envelope && answer.envelope.server) {
    accept(answer.envelope);
    return true;
  }
  if (state.server) {
    markUnreachable(answer.httpStatus === 401 ? "needs the API key" : `HTTP ${answer.httpStatus}`);
    return false;
  }
  if (answer.httpStatus === 401) {
    notice(
      "This server needs an API key to show its modules.",
      h("button", { type: "button", text: "Enter the API key", onclick: () => start() }),
    );
  } else {
    const message = answer.envelope && answer.envelope.msg ? answer.envelope.msg : answer.text.slice(0, 300);
    notice(`GET /modules answered HTTP ${answer.httpStatus}: ${message}`);
  }
  return false;
}

/** While models load, ask often; once ready, now and then (readiness, workers, a changed module list). */
function schedulePolls() {
  if (state.polling) return;
  state.polling = true;
  const next = () => (state.server.ready && state.cards.length ? REFRESH_MS : LOADING_POLL_MS);
  const poll = async () => {
    if (!document.hidden) await load();
    setTimeout(poll, next());
  };
  setTimeout(poll, next());
}

async function start() {
  const data = inlined();
  if (data && data.server && !state.server) accept(data);
  else await load();
  if (state.server) schedulePolls();
}

/** Paste an image anywhere: it goes to the image module last used (or the first one). */
function routePastes() {
  document.addEventListener("pointerdown", (event) => rememberPicker(event.target));
  document.addEventListener("focusin", (event) => rememberPicker(event.target));
  document.addEventListener("paste", (event) => {
    const files = Array.from((event.clipboardData && event.clipboardData.files) || []).filter((file) =>
      file.type.startsWith("image/"),
    );
    const target = state.lastPicker || (state.cards.find((card) => card.picker) || {}).picker;
    if (!files.length || !target || (event.target.closest && event.target.closest("textarea, input"))) return;
    event.preventDefault();
    target.addFiles(files);
    target.element.scrollIntoView({ block: "nearest" });
  });
}

function rememberPicker(node) {
  const element = node && node.closest ? node.closest(".card") : null;
  const card = element && state.cards.find((candidate) => candidate.element === element);
  if (card && card.picker) state.lastPicker = card.picker;
}

document.getElementById("forget-key").addEventListener("click", () => {
  apiKeys.clear();
  location.reload();
});
setInterval(tick, 1000);
routePastes();
start();
