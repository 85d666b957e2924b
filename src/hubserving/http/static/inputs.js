// What a module's "try it" panel asks for, read off its GET /modules description:
// the input (texts, images, or a whole JSON body) and a field for each other argument.

/**
 * The module's input: {kind: "text" | "image" | "json", name, list}, as the module declares it with
 * @serving(input=..., input_arg=...) (GET /modules: input_kind, input_arg). "json" gets a JSON editor.
 */
export function inputOf(module) {
  const name = module.input_arg;
  if (module.input_kind === "json" || !name) return { kind: "json", name: null, list: false };
  const parameter = module.parameters.find((candidate) => candidate.name === name);
  const list = name === module.batch_arg || /(^|\W)list\[/.test(parameter?.type ?? "");
  return { kind: module.input_kind, name, list };
}

/** The value an argument takes when the request leaves it out: the config's predict_args, else the default. */
export function effectiveDefault(module, parameter) {
  const configured = module.predict_args || {};
  return Object.prototype.hasOwnProperty.call(configured, parameter.name)
    ? configured[parameter.name]
    : parameter.default;
}

/** The arguments that get a field of their own: all but the input and its aliases. */
export function optionParameters(module, input) {
  if (input.kind === "json") return [];
  const aliases = Object.entries(module.aliases || {}).filter(([, target]) => target === input.name);
  const hidden = new Set([input.name, ...aliases.map(([alias]) => alias)]);
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
