// Results for people, chosen by the shape of the results (not the module's name), so any module that
// answers like lac, senta, an OCR, a detector or a classifier gets that view; anything else gets JSON.

import { h, percent, pretty } from "./dom.js";
import { isDetection, isOcr, renderDetection, renderOcr } from "./imageviews.js";
import { isSegmentation, renderSegmentation } from "./lacview.js";

const isNumber = (value) => typeof value === "number" && Number.isFinite(value);
const isPlainObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

/** Whether every item is {sentiment_key / sentiment_label, positive_probs, negative_probs}. */
function isSentiment(results) {
  return results.every((item) => isPlainObject(item) && isNumber(item.positive_probs) && isNumber(item.negative_probs));
}

/**
 * One image's classes as [{label, score}], from a {label, score} list (bare or as {data: [...]}),
 * {label: score}, or [{label: score}].
 */
function ranking(item) {
  if (isPlainObject(item) && Array.isArray(item.data)) return ranking(item.data);
  if (Array.isArray(item) && item.every((entry) => isPlainObject(entry) && "label" in entry && isNumber(entry.score))) {
    return item.map((entry) => ({ label: String(entry.label), score: entry.score }));
  }
  const merged = Array.isArray(item) && item.every(isPlainObject) ? Object.assign({}, ...item) : item;
  if (isPlainObject(merged) && Object.keys(merged).length && Object.values(merged).every(isNumber)) {
    return Object.entries(merged).map(([label, score]) => ({ label, score }));
  }
  return null;
}

function isClassification(results) {
  return results.every((item) => ranking(item) !== null);
}

function renderSentiment(results, context) {
  const rows = results.map((item, index) => {
    const positive = Math.min(1, Math.max(0, item.positive_probs));
    const key = item.sentiment_key || (positive >= 0.5 ? "positive" : "negative");
    const text = item.text ?? context.texts[index] ?? "";
    return h(
      "li",
      { class: `sentiment ${key}` },
      h(
        "div",
        { class: "sentiment-head" },
        h("span", { class: "sentiment-text", text }),
        h("span", { class: `pill ${key}`, text: key }),
      ),
      h(
        "div",
        {
          class: "bar",
          role: "img",
          "aria-label": `positive ${percent(positive)}, negative ${percent(item.negative_probs)}`,
        },
        h("span", { class: "bar-positive", style: { width: percent(positive) } }),
        h("span", { class: "bar-negative", style: { width: percent(1 - positive) } }),
      ),
      h(
        "div",
        { class: "bar-legend" },
        h("span", { text: `positive ${percent(item.positive_probs)}` }),
        h("span", { text: `negative ${percent(item.negative_probs)}` }),
      ),
    );
  });
  return h("div", { class: "view view-sentiment" }, h("ol", { class: "sentiment-list" }, rows));
}

function renderClassification(results, context) {
  const figures = results.map((item, index) => {
    const ranked = ranking(item).sort((a, b) => b.score - a.score);
    const image = context.images[index];
    return h(
      "figure",
      { class: "classified" },
      image ? h("img", { class: "classified-image", src: image.dataUrl, alt: image.name }) : null,
      h(
        "ol",
        { class: "ranking" },
        ranked.map((entry) =>
          h(
            "li",
            {},
            h("span", { class: "rank-label", text: entry.label }),
            h(
              "span",
              { class: "rank-bar" },
              h("span", { style: { width: percent(Math.min(1, Math.max(0, entry.score))) } }),
            ),
            h("span", { class: "score", text: percent(entry.score) }),
          ),
        ),
      ),
    );
  });
  return h("div", { class: "view view-classification" }, figures);
}

function renderJson(results) {
  return h("div", { class: "view view-json" }, h("pre", { class: "json", text: pretty(results) }));
}

function renderNothing(results, context) {
  const noun = context.images.length ? "Nothing found." : "No results.";
  return h("div", { class: "view view-empty" }, h("p", { class: "muted", text: noun }), renderJson(results));
}

/** Images a module drew itself (`visualization: true` gives them as base64 in each result). */
function serverDrawings(results) {
  const drawn = results
    .map((item, index) =>
      isPlainObject(item) && typeof item.visualization === "string" && item.visualization
        ? [index, item.visualization]
        : null,
    )
    .filter(Boolean);
  if (!drawn.length) return null;
  return h(
    "details",
    { class: "server-drawn" },
    h("summary", { text: "Drawn by the module (visualization)" }),
    drawn.map(([index, data]) =>
      h("img", {
        src: data.startsWith("data:") ? data : `data:image/jpeg;base64,${data}`,
        alt: `image ${index + 1} as the module drew it`,
      }),
    ),
  );
}

function withDrawings(view) {
  return {
    name: view.name,
    render: async (results, context) => {
      const element = await view.render(results, context);
      const drawings = serverDrawings(results);
      if (drawings) element.append(drawings);
      return element;
    },
  };
}

const VIEWS = [
  { name: "segmentation", matches: isSegmentation, render: renderSegmentation },
  { name: "sentiment", matches: isSentiment, render: renderSentiment },
  { name: "ocr", matches: isOcr, render: renderOcr },
  { name: "detection", matches: isDetection, render: renderDetection },
  { name: "classification", matches: isClassification, render: renderClassification },
];

/** The view for `results`: {name, render(results, context)}; context holds the texts and images sent. */
export function viewFor(results) {
  if (!Array.isArray(results)) return { name: "json", render: renderJson };
  const empty = results.every((item) => item === null || (Array.isArray(item) && item.length === 0));
  if (empty) return { name: "empty", render: renderNothing };
  const view = VIEWS.find((candidate) => candidate.matches(results));
  return view ? withDrawings(view) : { name: "json", render: renderJson };
}
