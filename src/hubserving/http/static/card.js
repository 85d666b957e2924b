// One module's card: what it is, its "try it" panel, its arguments, and code to call it.

import { apiKeys } from "./api.js";
import { copyButton, h, pretty } from "./dom.js";
import { examples } from "./examples.js";
import { effectiveDefault } from "./inputs.js";
import { tryPanel } from "./panel.js";

function signature(module) {
  const parts = module.parameters.map((parameter) =>
    parameter.required ? parameter.name : `${parameter.name}=${JSON.stringify(parameter.default)}`,
  );
  return `${module.method}(${parts.join(", ")})`;
}

function argumentNote(module, parameter, input) {
  const notes = [];
  if (parameter.name === input.name) {
    notes.push(input.kind === "image" ? "the images (base64)" : input.kind === "text" ? "the texts" : "the input");
  }
  if (parameter.name === module.batch_arg)
    notes.push(`batched: up to ${module.max_batch_size ?? "any number of"} items a call`);
  if (parameter.required) notes.push("required");
  const configured = module.predict_args || {};
  if (Object.prototype.hasOwnProperty.call(configured, parameter.name))
    notes.push("default set by the server's config");
  return notes.join("; ");
}

function argumentTable(module, input) {
  const rows = module.parameters.map((parameter) =>
    h(
      "tr",
      {},
      h("td", {}, h("code", { text: parameter.name })),
      h(
        "td",
        {},
        parameter.required
          ? h("span", { class: "muted", text: "—" })
          : h("code", { text: JSON.stringify(effectiveDefault(module, parameter)) }),
      ),
      h("td", { text: argumentNote(module, parameter, input) }),
    ),
  );
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { class: "arguments" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["argument", "default", "notes"].map((text) => h("th", { text })),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
}

function codeTabs(module, idPrefix) {
  const blocks = { curl: h("pre", { class: "code code-curl" }), python: h("pre", { class: "code code-python" }) };
  const tabs = Object.keys(blocks).map((name, index) =>
    h("button", {
      type: "button",
      role: "tab",
      id: `${idPrefix}-tab-${name}`,
      class: "tab",
      "aria-selected": String(index === 0),
      text: name === "curl" ? "curl" : "Python",
      onclick: () => select(name),
    }),
  );
  const panels = Object.entries(blocks).map(([name, pre], index) =>
    h(
      "div",
      {
        class: "code-panel",
        role: "tabpanel",
        "aria-labelledby": `${idPrefix}-tab-${name}`,
        hidden: index !== 0,
        dataset: { language: name },
      },
      pre,
    ),
  );
  let selected = "curl";
  function select(name) {
    selected = name;
    tabs.forEach((tab) => tab.setAttribute("aria-selected", String(tab.id.endsWith(`-${name}`))));
    panels.forEach((panel) => (panel.hidden = panel.dataset.language !== name));
  }
  const copy = copyButton(() => blocks[selected].textContent);
  const bar = h("div", { class: "tab-bar" }, h("div", { class: "tab-list", role: "tablist" }, tabs), copy);
  return { element: h("div", { class: "code-tabs" }, bar, panels), blocks };
}

/** The card for `module`; timeoutS is the server's request timeout (for the Python example). */
export function moduleCard(module, timeoutS) {
  const idPrefix = `module-${module.name.replace(/[^\w-]/g, "_")}`;
  let code = null;
  let panel = null;
  const refresh = () => {
    if (!code || !panel) return;
    const written = examples({
      module,
      ...panel.state(),
      withKey: apiKeys.required || Boolean(apiKeys.get()),
      timeoutS,
    });
    code.blocks.curl.textContent = written.curl;
    code.blocks.python.textContent = written.python;
  };
  panel = tryPanel(module, refresh);
  code = codeTabs(module, idPrefix);
  refresh();
  const input = panel.state().input;
  const details =
    module.details && Object.keys(module.details).length
      ? h(
          "details",
          { class: "module-details" },
          h("summary", { text: "Details from the module" }),
          h("pre", { class: "json", text: pretty(module.details) }),
        )
      : null;
  const card = h(
    "section",
    {
      class: "card module",
      id: idPrefix,
      dataset: { module: module.name, category: module.category || "other", input: input.kind },
    },
    h(
      "header",
      { class: "card-head" },
      h(
        "div",
        { class: "title-row" },
        h("h2", { text: module.name }),
        h("span", { class: "version", text: module.version }),
        h("span", { class: `badge category category-${module.category || "other"}`, text: module.category || "other" }),
        module.type ? h("span", { class: "type muted", text: module.type }) : null,
      ),
      module.summary ? h("p", { class: "summary", text: module.summary }) : null,
      h(
        "p",
        { class: "meta muted" },
        h("code", { text: `POST ${module.url}` }),
        module.author ? ` · by ${module.author}` : "",
      ),
    ),
    h(
      "div",
      { class: "card-body" },
      h("div", { class: "column try-column" }, h("h3", { text: "Try it" }), panel.element),
      h(
        "div",
        { class: "column reference-column" },
        h("h3", { text: "Arguments" }),
        h("p", {}, h("code", { class: "signature", text: signature(module) })),
        argumentTable(module, input),
        h("h3", { text: "Call it from code" }),
        code.element,
        details,
      ),
    ),
  );
  return { element: card, refresh, picker: panel.picker };
}
