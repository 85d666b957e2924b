// Building DOM nodes without innerHTML: every text a module or the server sends is set as text.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") element.setAttribute("class", value);
    else if (name === "text") element.textContent = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name === "style") for (const [key, v] of Object.entries(value)) element.style.setProperty(key, v);
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** An HTML element: h("p", {class: "x", onclick: f}, "text", child, [more]). */
export function h(tag, attributes, ...children) {
  return build(document.createElement(tag), attributes, children);
}

/** An SVG element, same arguments as h(). */
export function s(tag, attributes, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attributes, children);
}

/** Pretty JSON for people: two-space indent, Chinese as it is. */
export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

/** A number as a percentage with one decimal: 0.9407 -> "94.1%". */
export function percent(value) {
  return `${(Number(value) * 100).toFixed(1)}%`;
}

/** Copy text to the clipboard; works on plain-http servers too, where navigator.clipboard is missing. */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // fall through to the selection-based copy
    }
  }
  const area = h("textarea", { class: "copy-buffer", readonly: true, "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}

/** A "Copy" button for the text that getText() returns when clicked. */
export function copyButton(getText, label = "Copy") {
  const button = h("button", { type: "button", class: "copy-button secondary small", text: label });
  button.addEventListener("click", async () => {
    const copied = await copyText(getText());
    button.textContent = copied ? "Copied" : "Select and copy";
    setTimeout(() => (button.textContent = label), 1500);
  });
  return button;
}

/** A stable, pleasant colour for a label (boxes of the same label share it). */
export function colourFor(label) {
  const palette = ["#e8590c", "#1971c2", "#2f9e44", "#c2255c", "#6741d9", "#0c8599", "#e67700", "#5c940d"];
  let hash = 0;
  for (const char of String(label)) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return palette[hash % palette.length];
}
