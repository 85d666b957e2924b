// One form field per extra argument of the serving method, prefilled with what the server would use.
// Only values changed from that default are sent, so the request stays what a person would write.

import { h } from "./dom.js";
import { effectiveDefault, fieldKind } from "./inputs.js";

function shown(value) {
  return value === undefined ? "" : JSON.stringify(value);
}

function control(id, kind, value) {
  if (kind === "bool") return h("input", { id, type: "checkbox", checked: value });
  if (kind === "number") return h("input", { id, type: "number", step: "any", value: String(value) });
  if (kind === "string") return h("input", { id, type: "text", value, spellcheck: "false" });
  return h("input", { id, type: "text", value: value === null ? "" : shown(value), placeholder: "null (JSON)" });
}

/** Read a field: {ok: true, value} or {ok: false, message}; value undefined means "leave it out". */
function read(field) {
  const { input, kind, base, parameter } = field;
  if (kind === "bool") return { ok: true, value: input.checked };
  const raw = input.value.trim();
  if (kind === "number") {
    if (raw === "") return { ok: true, value: parameter.required ? undefined : base };
    const number = Number(raw);
    if (Number.isNaN(number)) return { ok: false, message: `${parameter.name} must be a number` };
    return { ok: true, value: number };
  }
  if (kind === "string") return { ok: true, value: input.value };
  if (raw === "") return { ok: true, value: parameter.required ? undefined : base };
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    return { ok: true, value: input.value }; // not JSON: the text itself, as a string
  }
}

/** The fields for `parameters`, as {element, values()} where values() gives the arguments to send. */
export function optionFields(module, parameters, idPrefix, onChange) {
  const fields = parameters.map((parameter) => {
    const base = effectiveDefault(module, parameter);
    const kind = fieldKind(base);
    const id = `${idPrefix}-${parameter.name}`;
    const input = control(id, kind, base);
    input.dataset.argument = parameter.name;
    input.addEventListener("input", onChange);
    input.addEventListener("change", onChange);
    const label = h(
      "label",
      { for: id },
      parameter.name,
      parameter.required ? h("span", { class: "required", text: " *" }) : null,
    );
    const hint = parameter.required ? "required" : `default ${shown(base)}`;
    const row = h(
      "div",
      { class: `field field-${kind}` },
      kind === "bool" ? [input, label] : [label, input],
      h("small", { text: hint }),
    );
    return { parameter, base, kind, input, row };
  });
  const element = fields.length
    ? h(
        "fieldset",
        { class: "options" },
        h("legend", { text: "Arguments" }),
        fields.map((field) => field.row),
      )
    : null;
  function values() {
    const chosen = {};
    for (const field of fields) {
      const result = read(field);
      if (!result.ok) return { ok: false, message: result.message };
      if (result.value === undefined) continue;
      if (!field.parameter.required && JSON.stringify(result.value) === JSON.stringify(field.base)) continue;
      chosen[field.parameter.name] = result.value;
    }
    return { ok: true, values: chosen };
  }
  return { element, values };
}
