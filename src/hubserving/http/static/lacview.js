// Words with coloured part-of-speech / entity tags (LAC's tag set), and a legend of the tags shown.

import { h } from "./dom.js";

// tag: [colour, Chinese name, English name]; entities (upper case) share a hue with their proper-noun tag.
const TAGS = {
  n: ["#3b5bdb", "普通名词", "common noun"],
  f: ["#4c6ef5", "方位名词", "locative noun"],
  s: ["#5c7cfa", "处所名词", "place noun"],
  t: ["#f59f00", "时间", "time noun"],
  nr: ["#e64980", "人名", "person name"],
  ns: ["#37b24d", "地名", "place name"],
  nt: ["#9775fa", "机构名", "organisation name"],
  nw: ["#1c7ed6", "作品名", "work title"],
  nz: ["#1098ad", "其他专名", "other proper noun"],
  v: ["#0ca678", "普通动词", "verb"],
  vd: ["#099268", "动副词", "verb as adverb"],
  vn: ["#20c997", "名动词", "verb as noun"],
  a: ["#d9480f", "形容词", "adjective"],
  ad: ["#e8590c", "副形词", "adjective as adverb"],
  an: ["#f76707", "名形词", "adjective as noun"],
  d: ["#0b7285", "副词", "adverb"],
  m: ["#74b816", "数量词", "numeral"],
  q: ["#5c940d", "量词", "measure word"],
  r: ["#ae3ec9", "代词", "pronoun"],
  p: ["#868e96", "介词", "preposition"],
  c: ["#748089", "连词", "conjunction"],
  u: ["#99a1a8", "助词", "particle"],
  xc: ["#adb5bd", "其他虚词", "other function word"],
  w: ["#b8bfc6", "标点符号", "punctuation"],
  PER: ["#c2255c", "人名", "person"],
  LOC: ["#2b8a3e", "地名", "location"],
  ORG: ["#6741d9", "机构名", "organisation"],
  TIME: ["#e67700", "时间", "time"],
};
const UNKNOWN = ["#868e96", "自定义", "custom tag"];

/** Whether `results` look like LAC's: per text {word: [...], tag?: [...]}. */
export function isSegmentation(results) {
  return results.every(
    (item) =>
      item &&
      Array.isArray(item.word) &&
      (item.tag === undefined || (Array.isArray(item.tag) && item.tag.length === item.word.length)),
  );
}

function describe(tag) {
  const [, chinese, english] = TAGS[tag] || UNKNOWN;
  return `${tag}: ${chinese} · ${english}`;
}

function token(word, tag) {
  if (word === "") return h("span", { class: "token empty", text: "(empty text)" });
  const colour = tag === undefined ? null : (TAGS[tag] || UNKNOWN)[0];
  return h(
    "span",
    {
      class: "token",
      dataset: tag === undefined ? {} : { tag },
      style: colour ? { "--tag": colour } : {},
      title: tag ? describe(tag) : null,
    },
    h("span", { class: "word", text: word }),
    tag === undefined ? null : h("span", { class: "tag", text: tag }),
  );
}

function legendItem(tag, used) {
  const [colour, chinese, english] = TAGS[tag] || UNKNOWN;
  return h(
    "li",
    { class: used ? "used" : "", style: { "--tag": colour }, dataset: { tag } },
    h("span", { class: "legend-tag", text: tag }),
    h("span", { text: `${chinese} ${english}` }),
  );
}

/** The words of each text, tagged, then the legend. */
export function renderSegmentation(results, context) {
  const used = new Set(results.flatMap((item) => item.tag || []).filter(Boolean));
  const lines = results.map((item, index) =>
    h(
      "li",
      { class: "segmented" },
      context.texts[index] !== undefined ? h("span", { class: "source", text: context.texts[index] }) : null,
      h(
        "span",
        { class: "tokens" },
        item.word.map((word, at) => token(word, item.tag ? item.tag[at] : undefined)),
      ),
    ),
  );
  const allTags = Object.keys(TAGS);
  const extra = [...used].filter((tag) => !TAGS[tag]);
  return h(
    "div",
    { class: "view view-segmentation" },
    h("ol", { class: "segmented-list" }, lines),
    used.size
      ? h(
          "div",
          { class: "legend" },
          h(
            "ul",
            { class: "legend-list", "aria-label": "Tags in this result" },
            [...used].map((tag) => legendItem(tag, true)),
          ),
          h(
            "details",
            { class: "legend-all" },
            h("summary", { text: `All ${allTags.length} tags` }),
            h(
              "ul",
              { class: "legend-list" },
              [...allTags, ...extra].map((tag) => legendItem(tag, used.has(tag))),
            ),
          ),
        )
      : null,
  );
}
