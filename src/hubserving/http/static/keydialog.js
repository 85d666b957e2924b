// The API-key prompt: one <dialog>, shared by every request that meets a 401 at the same time.

let pending = null;

/** Ask for the key; resolves to the key, or null when the person cancels. */
export function askKey(reason) {
  if (pending) return pending;
  const dialog = document.getElementById("key-dialog");
  const form = document.getElementById("key-form");
  const input = document.getElementById("key-input");
  document.getElementById("key-reason").textContent = reason;
  input.value = "";
  pending = new Promise((resolve) => {
    const finish = (key) => {
      form.removeEventListener("submit", onSubmit);
      dialog.removeEventListener("cancel", onCancel);
      cancelButton.removeEventListener("click", onCancel);
      if (dialog.open) dialog.close();
      pending = null;
      resolve(key);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      finish(input.value.trim() || null);
    };
    const onCancel = (event) => {
      event.preventDefault();
      finish(null);
    };
    const cancelButton = document.getElementById("key-cancel");
    form.addEventListener("submit", onSubmit);
    dialog.addEventListener("cancel", onCancel);
    cancelButton.addEventListener("click", onCancel);
    dialog.showModal();
    input.focus();
  });
  return pending;
}
