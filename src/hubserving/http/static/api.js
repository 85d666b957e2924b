// Talking to the server: the same GET /modules and POST /predict/<module> any client uses,
// with the API key (when the server wants one) asked once and kept in this tab's sessionStorage.

const KEY_ITEM = "hubserving.apiKey";

export const apiKeys = {
  get: () => sessionStorage.getItem(KEY_ITEM),
  set: (key) => sessionStorage.setItem(KEY_ITEM, key),
  clear: () => sessionStorage.removeItem(KEY_ITEM),
  /** Whether this server asked for a key at least once in this tab (examples then show the header). */
  required: false,
};

/**
 * One HTTP exchange. Resolves to {httpStatus, envelope, text, latencyMs}; envelope is the parsed JSON body
 * or null. Rejects only when the server cannot be reached.
 */
async function exchange(path, body) {
  const headers = { Accept: "application/json" };
  const key = apiKeys.get();
  if (key) headers.Authorization = `Bearer ${key}`;
  const init = { method: "GET", headers, cache: "no-store" };
  if (body !== undefined) {
    init.method = "POST";
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const started = performance.now();
  const response = await fetch(path, init);
  const text = await response.text();
  const latencyMs = performance.now() - started;
  let envelope = null;
  try {
    envelope = JSON.parse(text);
  } catch {
    envelope = null;
  }
  return { httpStatus: response.status, envelope, text, latencyMs };
}

/**
 * exchange(), and on a 401 ask for the key with askKey(reason) and try again, until the server takes the
 * key or the person cancels (then the 401 answer is returned).
 */
export async function call(path, body, askKey) {
  for (;;) {
    const hadKey = Boolean(apiKeys.get());
    const answer = await exchange(path, body);
    if (answer.httpStatus !== 401) return answer;
    apiKeys.required = true;
    const reason = hadKey ? "The server refused that key. Try again." : "This server needs an API key.";
    const key = await askKey(reason);
    if (!key) return answer;
    apiKeys.set(key);
  }
}

/** The URL of a server path, resolved against this page (so the page also works behind a path prefix). */
export function serverUrl(path) {
  return new URL(path, document.baseURI).href;
}
