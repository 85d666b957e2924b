// Images for a CV module: choose files, drop them, or paste them; shown as thumbnails, sent as base64.

import { h } from "./dom.js";

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function imageFiles(list) {
  return Array.from(list || []).filter((file) => file.type.startsWith("image/"));
}

/** The picker: {element, images(), addFiles(files), clear()}; images() gives [{name, dataUrl, base64}]. */
export function imagePicker(idPrefix, multiple, onChange) {
  let images = [];
  const fileInput = h("input", {
    id: `${idPrefix}-file`,
    class: "file-input",
    type: "file",
    accept: "image/*",
    multiple,
  });
  const thumbs = h("ul", { class: "thumbs", "aria-label": "Chosen images" });
  const zone = h(
    "div",
    { class: "drop-zone", tabindex: "0", role: "group", "aria-label": "Images: choose, drop or paste" },
    h(
      "p",
      {},
      h("label", { for: fileInput.id, class: "file-label", text: "Choose an image" }),
      " or drop it here, or paste it (Ctrl+V)",
    ),
    fileInput,
    thumbs,
  );

  function render() {
    thumbs.replaceChildren(
      ...images.map((image, index) =>
        h(
          "li",
          { class: "thumb" },
          h("img", { src: image.dataUrl, alt: image.name }),
          h("span", { class: "thumb-name", text: image.name }),
          h("button", {
            type: "button",
            class: "thumb-remove",
            "aria-label": `Remove ${image.name}`,
            text: "×",
            onclick: () => {
              images.splice(index, 1);
              render();
              onChange();
            },
          }),
        ),
      ),
    );
    zone.classList.toggle("has-images", images.length > 0);
  }

  async function addFiles(files) {
    const chosen = imageFiles(files);
    if (!chosen.length) return;
    const read = await Promise.all(
      chosen.map(async (file, index) => {
        const dataUrl = await readAsDataUrl(file);
        const name =
          file.name && file.name !== "image.png"
            ? file.name
            : `pasted-${index + 1}.${file.type.split("/")[1] || "png"}`;
        return { name, dataUrl, base64: dataUrl.slice(dataUrl.indexOf(",") + 1) };
      }),
    );
    images = multiple ? images.concat(read) : read.slice(0, 1);
    render();
    onChange();
  }

  fileInput.addEventListener("change", () => {
    addFiles(fileInput.files);
    fileInput.value = "";
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    addFiles(event.dataTransfer && event.dataTransfer.files);
  });
  zone.addEventListener("paste", (event) => {
    const files = imageFiles(event.clipboardData && event.clipboardData.files);
    if (!files.length) return;
    event.preventDefault();
    event.stopPropagation();
    addFiles(files);
  });

  return {
    element: zone,
    images: () => images,
    addFiles,
    clear: () => {
      images = [];
      render();
      onChange();
    },
  };
}
