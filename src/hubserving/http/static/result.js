// One call's outcome: status and latency, the view for people (or the envelope's msg), the raw JSON
// envelope one click away, and the request that was sent.

import { copyButton, h, pretty } from "./dom.js";
import { viewFor } from "./views.js";

/** "0.8 ms", "42 ms", "1.25 s". */
export function formatLatency(milliseconds) {
  if (milliseconds < 10) return `${milliseconds.toFixed(1)} ms`;
  if (milliseconds < 1000) return `${Math.round(milliseconds)} ms`;
  return `${(milliseconds / 1000).toFixed(2)} s`;
}

/** The request as sent, with long base64 images shortened so it stays readable. */
function requestText(path, body) {
  const shortened = JSON.stringify(
    body,
    (key, value) =>
      typeof value === "string" && value.length > 200 ? `${value.slice(0, 60)}… (${value.length} characters)` : value,
    2,
  );
  return `POST /${path}\n${shortened}`;
}

function rawToggle(raw) {
  const button = h("button", {
    type: "button",
    class: "raw-toggle secondary small",
    "aria-expanded": "false",
    text: "Raw JSON",
  });
  button.addEventListener("click", () => {
    const open = raw.hidden;
    raw.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? "Hide raw JSON" : "Raw JSON";
  });
  return button;
}

function failure(answer) {
  const { envelope, httpStatus, text } = answer;
  if (envelope && typeof envelope.msg === "string") {
    return h(
      "div",
      { class: "result-error", role: "alert" },
      h("strong", { text: `Error ${envelope.status ?? ""}`.trim() }),
      h("span", { class: "error-msg", text: envelope.msg || "(the server gave no message)" }),
    );
  }
  return h(
    "div",
    { class: "result-error", role: "alert" },
    h("strong", { text: `HTTP ${httpStatus}` }),
    h("span", { class: "error-msg", text: text.slice(0, 500) || "(empty answer)" }),
  );
}

/** Fill `area` with the outcome of one call. */
export async function showAnswer(area, { answer, path, body, context }) {
  const { envelope, httpStatus, latencyMs } = answer;
  const ok = httpStatus === 200 && envelope && envelope.status === "0";
  const rawText = envelope ? pretty(envelope) : answer.text;
  const raw = h(
    "div",
    { class: "raw-box", hidden: true },
    copyButton(() => rawText, "Copy JSON"),
    h("pre", { class: "raw-json", text: rawText }),
  );
  let content;
  let viewName = "error";
  if (ok) {
    const view = viewFor(envelope.results);
    viewName = view.name;
    content = await view.render(envelope.results, context);
  } else {
    content = failure(answer);
  }
  const statusText = ok
    ? `${httpStatus} OK`
    : `HTTP ${httpStatus}${envelope && envelope.status ? ` · status ${envelope.status}` : ""}`;
  area.replaceChildren(
    h(
      "div",
      { class: "result-head" },
      h("span", { class: `pill ${ok ? "ok" : "bad"}`, text: statusText }),
      h("span", { class: "latency", title: "round trip, as this browser measured it", text: formatLatency(latencyMs) }),
      h("span", { class: "spacer" }),
      rawToggle(raw),
    ),
    content,
    raw,
    h(
      "details",
      { class: "request-sent" },
      h("summary", { text: "Request sent" }),
      h("pre", { text: requestText(path, body) }),
    ),
  );
  area.dataset.view = viewName;
  area.dataset.state = ok ? "ok" : "error";
  area.hidden = false;
}

/** A problem found before anything was sent (no text typed, JSON that does not parse), or no connection. */
export function showProblem(area, message) {
  area.replaceChildren(
    h("div", { class: "result-error", role: "alert" }, h("span", { class: "error-msg", text: message })),
  );
  area.dataset.view = "problem";
  area.dataset.state = "error";
  area.hidden = false;
}
