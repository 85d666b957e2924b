// What a module's "try it" panel asks for, read off its GET /modules description:
// the input (texts, images, or a whole JSON body) and a field for each other argument.

const TEXT_NAMES = ["texts", "text", "sentences", "sentence"];
const IMAGE_NAMES = ["images", "image", "imgs", "img"];

function twin(name) {
  return name.endsWith("s") ? name.slice(0, -1) : `${name}s`;
}

/**
 * The module's input: {kind: "text" | "image" | "json", name, list}.
 * By category first (nlp: text, cv: image), then by the argument's name; anything else gets a JSON editor.
 */
export function inputOf(module) {
  const names = module.parameters.map((parameter) => parameter.name);
  const pick = (candidates) =>
    (module.batch_arg && candidates.includes(module.batch_arg) && module.batch_arg) ||
    candidates.find((name) => names.includes(name));
  const category = module.category;
  let kind = category === "nlp" ? "text" : category === "cv" ? "image" : null;
  let name = kind === "text" ? pick(TEXT_NAMES) : kind === "image" ? pick(IMAGE_NAMES) : null;
  if (!name && pick(IMAGE_NAMES)) [kind, name] = ["image", pick(IMAGE_NAMES)];
  if (!name && pick(TEXT_NAMES)) [kind, name] = ["text", pick(TEXT_NAMES)];
  if (!name && kind && module.batch_arg) name = module.batch_arg;
  if (!name) return { kind: "json", name: null, list: false };
  const list = name === module.batch_arg || name.endsWith("s");
  return { kind, name, list };
}

/** The value an argument takes when the request leaves it out: the config's predict_args, else the default. */
export function effectiveDefault(module, parameter) {
  const configured = module.predict_args || {};
  return Object.prototype.hasOwnProperty.call(configured, parameter.name)
    ? configured[parameter.name]
    : parameter.default;
}

/** The arguments that get a field of their own: all but the input and its singular/plural alias. */
export function optionParameters(module, input) {
  if (input.kind === "json") return [];
  const hidden = new Set([input.name, twin(input.name)]);
  return module.parameters.filter((parameter) => !hidden.has(parameter.name));
}

/** How a value is edited: "bool" (checkbox), "number", "string", or "json" (null, lists, objects). */
export function fieldKind(value) {
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number") return "number";
  if (typeof value === "string") return "string";
  return "json";
}

/** A JSON body to start from when the module gets a JSON editor: its required arguments, empty. */
export function jsonTemplate(module) {
  const body = {};
  for (const parameter of module.parameters) {
    if (parameter.required) body[parameter.name] = parameter.name === "inputs" ? {} : null;
  }
  return JSON.stringify(body, null, 2);
}

/** Sample texts for the "Example" button, by the module's type. */
export function sampleTexts(module) {
  if (/sentiment|senta|emotion/i.test(`${module.type} ${module.name}`)) {
    return ["这家餐厅很好吃", "这部电影真的很差劲"];
  }
  return ["今天是个好日子", "天气预报说今天要下雨"];
}
