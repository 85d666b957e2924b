// Copyable curl and Python `requests` examples for a module, following what the form holds.

import { serverUrl } from "./api.js";

function shellQuote(text) {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

/** Python source to put into a literal as it is (a variable name). */
class PythonCode {
  constructor(code) {
    this.code = code;
  }
}

/** A JSON value written as a Python literal (True, False, None; strings as JSON writes them). */
export function pythonLiteral(value, indent = "") {
  if (value instanceof PythonCode) return value.code;
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number" || typeof value === "string") return JSON.stringify(value);
  const inner = `${indent}    `;
  if (Array.isArray(value)) {
    const items = value.map((item) => pythonLiteral(item, inner));
    const flat = `[${items.join(", ")}]`;
    return flat.length <= 72 ? flat : `[\n${items.map((item) => inner + item).join(",\n")},\n${indent}]`;
  }
  const entries = Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}: ${pythonLiteral(item, inner)}`);
  const flat = `{${entries.join(", ")}}`;
  return flat.length <= 72 ? flat : `{\n${entries.map((entry) => inner + entry).join(",\n")},\n${indent}}`;
}

function curlJson(url, body, withKey) {
  const lines = [`curl -s ${url}`, `-H 'Content-Type: application/json'`];
  if (withKey) lines.push(`-H "Authorization: Bearer $HUB_API_KEY"`);
  lines.push(`-d ${shellQuote(JSON.stringify(body))}`);
  return lines.join(" \\\n     ");
}

function curlMultipart(url, input, files, options, withKey) {
  const lines = [`curl -s ${url}`];
  if (withKey) lines.push(`-H "Authorization: Bearer $HUB_API_KEY"`);
  for (const file of files) lines.push(`-F ${shellQuote(`${input.name}=@${file}`)}`);
  for (const [name, value] of Object.entries(options)) {
    lines.push(`-F ${shellQuote(`${name}=${typeof value === "string" ? value : JSON.stringify(value)}`)}`);
  }
  return lines.join(" \\\n     ");
}

function pythonCall(url, bodyLiteral, withKey, timeoutS) {
  const lines = ["response = requests.post(", `    ${JSON.stringify(url)},`, `    json=${bodyLiteral},`];
  if (withKey) lines.push('    headers={"Authorization": "Bearer " + os.environ["HUB_API_KEY"]},');
  lines.push(`    timeout=${Math.ceil(timeoutS || 60)},`, ")", 'print(response.json()["results"])');
  return lines.join("\n");
}

/**
 * {curl, python} for a call of `module` with `input` ({kind, name, list}), the texts or image file names
 * the form holds, and the extra arguments it sets.
 */
export function examples({ module, input, texts, files, options, body, withKey, timeoutS }) {
  const url = serverUrl(module.url.replace(/^\//, ""));
  const imports = withKey ? ["import os", ""] : [];
  if (input.kind === "image") {
    const names = files.length ? files : ["photo.jpg"];
    const variables = names.map((_, index) => (names.length === 1 ? "image" : `image_${index + 1}`));
    const reads = names.map(
      (name, index) =>
        `with open(${JSON.stringify(name)}, "rb") as file:\n    ${variables[index]} = base64.b64encode(file.read()).decode()`,
    );
    const images = input.list ? `[${variables.join(", ")}]` : variables[0];
    const bodyLiteral = pythonLiteral({ [input.name]: new PythonCode(images), ...options }, "    ");
    return {
      curl: curlMultipart(url, input, input.list ? names : names.slice(0, 1), options, withKey),
      python: [
        "import base64",
        ...imports.filter(Boolean),
        "",
        "import requests",
        "",
        ...reads,
        pythonCall(url, bodyLiteral, withKey, timeoutS),
      ].join("\n"),
    };
  }
  let request = body;
  if (input.kind === "text") {
    const value = input.list ? texts : texts.join("\n");
    request = { [input.name]: value, ...options };
  }
  return {
    curl: curlJson(url, request, withKey),
    python: [
      ...imports,
      "import requests",
      "",
      pythonCall(url, pythonLiteral(request, "    "), withKey, timeoutS),
    ].join("\n"),
  };
}
