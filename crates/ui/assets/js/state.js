// The router and the view state: everything a view shows is in the URL's hash
// (`#/summary?range=7d&f=domains:gmail.com`), so any view can be bookmarked and shared.

/** The current route: `{view, params}` (params is a URLSearchParams). */
export function current() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [view, query = ""] = hash.split("?");
  return { view: view || "", params: new URLSearchParams(query) };
}

/** The hash for `view` with `params` (an object or URLSearchParams; empty values dropped). */
export function href(view, params = {}) {
  const out = new URLSearchParams();
  const entries = params instanceof URLSearchParams ? params.entries() : Object.entries(params);
  for (const [name, value] of entries) {
    if (Array.isArray(value)) value.forEach((v) => v !== "" && v != null && out.append(name, v));
    else if (value !== "" && value != null) out.append(name, value);
  }
  const query = out.toString();
  return `#/${view}${query ? `?${query}` : ""}`;
}

/** Goes to `view` with `params` (a new history entry, so Back works). */
export function go(view, params) {
  const target = href(view, params);
  if (location.hash !== target) location.hash = target;
}

/** Changes some parameters of the current view: `null` removes one, arrays set repeated values. */
export function update(changes) {
  const { view, params } = current();
  for (const [name, value] of Object.entries(changes)) {
    params.delete(name);
    if (Array.isArray(value)) value.forEach((v) => params.append(name, v));
    else if (value !== null && value !== undefined && value !== "") params.set(name, value);
  }
  go(view, params);
}

/** Calls `listener` on every route change. */
export function onChange(listener) {
  window.addEventListener("hashchange", () => listener(current()));
}
