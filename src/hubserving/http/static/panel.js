// The "try it" panel of one module: its input (text box, image picker or JSON editor, by category),
// a field per other argument, Send, and the result below.

import { call } from "./api.js";
import { h } from "./dom.js";
import { optionFields } from "./fields.js";
import { imagePicker } from "./imagepicker.js";
import { inputOf, jsonTemplate, optionParameters, sampleTexts } from "./inputs.js";
import { askKey } from "./keydialog.js";
import { showAnswer, showProblem } from "./result.js";

function textLines(value) {
  return value.split(/\r?\n/).filter((line) => line.trim() !== "");
}

function textInput(module, input, id, onChange) {
  const area = h("textarea", {
    id,
    class: "text-input",
    rows: "4",
    spellcheck: "false",
    placeholder: input.list ? `One text per line, e.g.\n${sampleTexts(module).join("\n")}` : sampleTexts(module)[0],
  });
  area.addEventListener("input", onChange);
  const example = h("button", {
    type: "button",
    class: "secondary small",
    text: "Example",
    onclick: () => {
      area.value = (input.list ? sampleTexts(module) : sampleTexts(module).slice(0, 1)).join("\n");
      onChange();
    },
  });
  const label = h(
    "label",
    { for: id },
    input.list ? "Texts " : "Text ",
    h("small", { text: input.list ? `(${input.name}: one per line)` : `(${input.name})` }),
  );
  return { element: h("div", { class: "input-block" }, h("div", { class: "input-head" }, label, example), area), area };
}

function jsonInput(module, id, onChange) {
  const area = h("textarea", { id, class: "json-input", rows: "6", spellcheck: "false" });
  area.value = jsonTemplate(module);
  area.addEventListener("input", onChange);
  const label = h("label", { for: id }, "Request body ", h("small", { text: "(JSON object: the method's arguments)" }));
  return { element: h("div", { class: "input-block" }, label, area), area };
}

/** The panel: {element, state()} where state() describes the form for the code examples. */
export function tryPanel(module, onChange) {
  const input = inputOf(module);
  const idPrefix = `try-${module.name.replace(/[^\w-]/g, "_")}`;
  const text = input.kind === "text" ? textInput(module, input, `${idPrefix}-text`, onChange) : null;
  const picker = input.kind === "image" ? imagePicker(idPrefix, input.list, onChange) : null;
  const json = input.kind === "json" ? jsonInput(module, `${idPrefix}-json`, onChange) : null;
  const options = optionFields(module, optionParameters(module, input), idPrefix, onChange);
  const button = h("button", { type: "submit", class: "run", text: "Send" });
  const result = h("section", { class: "result", "aria-live": "polite", hidden: true });
  const form = h(
    "form",
    { class: "try", novalidate: true },
    (text || picker || json).element,
    options.element,
    h("div", { class: "actions" }, button, h("small", { class: "muted", text: "Ctrl+Enter sends" })),
  );

  /** {ok, body, context} or {ok: false, message}. */
  function request() {
    const chosen = options.values();
    if (!chosen.ok) return chosen;
    if (json) {
      let body;
      try {
        body = JSON.parse(json.area.value || "{}");
      } catch (error) {
        return { ok: false, message: `The request body is not valid JSON: ${error.message}` };
      }
      if (body === null || typeof body !== "object" || Array.isArray(body)) {
        return { ok: false, message: "The request body must be a JSON object: its keys are the method's arguments." };
      }
      const texts = Array.isArray(body.texts) ? body.texts : [];
      return { ok: true, body, context: { texts, images: [] } };
    }
    if (text) {
      const lines = textLines(text.area.value);
      if (!lines.length) return { ok: false, message: "Type a text first (or press Example)." };
      const value = input.list ? lines : text.area.value;
      return {
        ok: true,
        body: { [input.name]: value, ...chosen.values },
        context: { texts: input.list ? lines : [value], images: [] },
      };
    }
    const images = picker.images();
    if (!images.length) return { ok: false, message: "Add an image first: choose one, drop it here, or paste it." };
    const encoded = images.map((image) => image.base64);
    const value = input.list ? encoded : encoded[0];
    return {
      ok: true,
      body: { [input.name]: value, ...chosen.values },
      context: { texts: [], images: input.list ? images : images.slice(0, 1) },
    };
  }

  async function send() {
    const built = request();
    if (!built.ok) {
      showProblem(result, built.message);
      return;
    }
    const path = module.url.replace(/^\//, "");
    button.disabled = true;
    button.textContent = "Sending…";
    result.classList.add("busy");
    try {
      const answer = await call(path, built.body, askKey);
      await showAnswer(result, { answer, path, body: built.body, context: built.context });
    } catch (error) {
      showProblem(result, `Could not reach the server: ${error.message}`);
    } finally {
      button.disabled = false;
      button.textContent = "Send";
      result.classList.remove("busy");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      send();
    }
  });

  function state() {
    const chosen = options.values();
    let body = {};
    if (json) {
      try {
        body = JSON.parse(json.area.value || "{}");
      } catch {
        body = {};
      }
    }
    const lines = text ? textLines(text.area.value) : [];
    return {
      input,
      texts: lines.length ? lines : sampleTexts(module),
      files: picker ? picker.images().map((image) => image.name) : [],
      options: chosen.ok ? chosen.values : {},
      body,
    };
  }

  return { element: h("div", { class: "panel" }, form, result), state, picker };
}
