// Boxes over the uploaded image: object/face detection ({data: [{label, confidence, left, top, right,
// bottom}]} per image) and OCR ([{text, confidence, text_box_position: [[x, y] x4]}] per image; PaddleOCR's
// ocr_system and ocr_det name the corners text_region).

import { colourFor, h, percent, s } from "./dom.js";

const isNumber = (value) => typeof value === "number" && Number.isFinite(value);
const isBox = (box) => box && ["left", "top", "right", "bottom"].every((key) => isNumber(box[key]));
const isPoint = (point) => Array.isArray(point) && point.length >= 2 && isNumber(point[0]) && isNumber(point[1]);
const cornersOf = (line) => (line ? (line.text_box_position ?? line.text_region) : undefined);
const isTextLine = (line) => Array.isArray(cornersOf(line)) && cornersOf(line).every(isPoint);

/** The text lines of one OCR result, whether a bare list or PaddleHub's older {data: [...]}. */
function ocrLines(item) {
  if (Array.isArray(item)) return item;
  return item && Array.isArray(item.data) ? item.data : null;
}

/** Whether every item is {data: [boxes]} with pixel coordinates. */
export function isDetection(results) {
  return results.every((item) => item && Array.isArray(item.data) && item.data.every(isBox));
}

/** Whether every item is a list of text lines with their quadrilaterals (and at least one line exists). */
export function isOcr(results) {
  const lines = results.map(ocrLines);
  return lines.every((list) => list && list.every(isTextLine)) && lines.some((list) => list.length > 0);
}

function textWidth(text, size) {
  let width = 0;
  for (const char of text) width += char.codePointAt(0) > 0x2e80 ? size : size * 0.62;
  return width + size * 0.6;
}

/** A label with a background, above (x, y) or just inside when there is no room above. */
function tagLabel(text, x, y, size, colour) {
  const height = size * 1.35;
  const top = y - height < 0 ? y : y - height;
  return s(
    "g",
    { class: "box-label" },
    s("rect", { x, y: top, width: textWidth(text, size), height, fill: colour, rx: size * 0.2 }),
    s("text", { x: x + size * 0.3, y: top + size * 1.02, "font-size": size, fill: "#fff", text }),
  );
}

/** The image with an SVG layer in its own pixel coordinates; draw(svg, width, height, size) adds shapes. */
async function stage(image, extent, draw) {
  let width = extent.width;
  let height = extent.height;
  let picture;
  if (image) {
    picture = h("img", { src: image.dataUrl, alt: image.name });
    await picture.decode().catch(() => undefined);
    width = picture.naturalWidth || width;
    height = picture.naturalHeight || height;
  } else {
    picture = h("div", { class: "blank", style: { "aspect-ratio": `${width} / ${height}` } });
  }
  const size = Math.max(11, Math.round(Math.max(width, height) / 42));
  const layer = s("svg", {
    class: "overlay",
    viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: "none",
    "aria-hidden": "true",
  });
  draw(layer, size);
  return h("div", { class: "stage" }, picture, layer);
}

/** Hovering a shape or its row lights up both. */
function pair(shape, row) {
  const on = () => [shape, row].forEach((node) => node.classList.add("hot"));
  const off = () => [shape, row].forEach((node) => node.classList.remove("hot"));
  for (const node of [shape, row]) {
    node.addEventListener("mouseenter", on);
    node.addEventListener("mouseleave", off);
  }
}

function extentOf(points) {
  return {
    width: Math.max(1, ...points.map((point) => point[0])),
    height: Math.max(1, ...points.map((point) => point[1])),
  };
}

function caption(image, index, count, noun) {
  const name = image ? image.name : `image ${index + 1}`;
  return h("figcaption", { text: `${name}: ${count} ${noun}${count === 1 ? "" : "s"}` });
}

async function detectionFigure(item, image, index) {
  const boxes = item.data;
  const rows = boxes.map((box, at) =>
    h(
      "tr",
      {},
      h("td", { text: String(at + 1) }),
      h("td", { text: String(box.label ?? "") }),
      h("td", { text: isNumber(box.confidence) ? percent(box.confidence) : "" }),
      h("td", { class: "mono", text: [box.left, box.top, box.right, box.bottom].map(Math.round).join(", ") }),
    ),
  );
  const shapes = [];
  const figure = await stage(image, extentOf(boxes.flatMap((box) => [[box.right, box.bottom]])), (layer, size) => {
    boxes.forEach((box, at) => {
      const colour = colourFor(box.label ?? "box");
      const score = isNumber(box.confidence) ? ` ${box.confidence.toFixed(2)}` : "";
      const frame = {
        x: box.left,
        y: box.top,
        width: Math.max(1, box.right - box.left),
        height: Math.max(1, box.bottom - box.top),
      };
      const shape = s(
        "g",
        { class: "box", dataset: { label: String(box.label ?? "") } },
        s("rect", { ...frame, class: "halo" }),
        s("rect", { ...frame, stroke: colour }),
        tagLabel(`${box.label ?? at + 1}${score}`, box.left, box.top, size, colour),
      );
      shapes.push(shape);
      layer.append(shape);
    });
  });
  shapes.forEach((shape, at) => pair(shape, rows[at]));
  const table = boxes.length
    ? h(
        "table",
        { class: "boxes" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["#", "label", "score", "left, top, right, bottom"].map((text) => h("th", { text })),
          ),
        ),
        h("tbody", {}, rows),
      )
    : h("p", { class: "muted", text: "Nothing found in this image." });
  return h("figure", { class: "detected" }, figure, caption(image, index, boxes.length, "box"), table);
}

async function ocrFigure(lines, image, index) {
  const rows = lines.map((line, at) =>
    h(
      "li",
      {},
      h("span", { class: "ocr-text", text: String(line.text ?? cornersOf(line).join("  ")) }),
      isNumber(line.confidence) ? h("span", { class: "score", text: percent(line.confidence) }) : null,
    ),
  );
  const shapes = [];
  const figure = await stage(image, extentOf(lines.flatMap(cornersOf)), (layer, size) => {
    lines.forEach((line, at) => {
      const colour = colourFor(`line ${at}`);
      const corners = cornersOf(line);
      const points = corners.map((point) => `${point[0]},${point[1]}`).join(" ");
      const shape = s(
        "g",
        { class: "box ocr-box" },
        s("polygon", { points, class: "halo" }),
        s("polygon", { points, stroke: colour }),
        tagLabel(String(at + 1), corners[0][0], corners[0][1], size, colour),
      );
      shapes.push(shape);
      layer.append(shape);
    });
  });
  shapes.forEach((shape, at) => pair(shape, rows[at]));
  const list = lines.length
    ? h("ol", { class: "ocr-lines" }, rows)
    : h("p", { class: "muted", text: "No text found." });
  return h("figure", { class: "detected" }, figure, caption(image, index, lines.length, "line"), list);
}

/** Each image with its boxes, labels and scores, and a table of the boxes. */
export async function renderDetection(results, context) {
  const figures = await Promise.all(results.map((item, index) => detectionFigure(item, context.images[index], index)));
  return h("div", { class: "view view-detection" }, figures);
}

/** Each image with its numbered text boxes, and the text read, line by line. */
export async function renderOcr(results, context) {
  const figures = await Promise.all(
    results.map((item, index) => ocrFigure(ocrLines(item), context.images[index], index)),
  );
  return h("div", { class: "view view-ocr" }, figures);
}
