// Building DOM nodes safely: text always goes in as text nodes, never as markup.

const SVG_NS = "http://www.w3.org/2000/svg";

function apply(node, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else if (name === "class") node.setAttribute("class", value);
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "value" && "value" in node && !(node instanceof SVGElement)) node.value = value;
    else if (name === "checked" || name === "selected" || name === "disabled" || name === "hidden") node[name] = Boolean(value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element: `h("td", {class: "num"}, "42")`. */
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  append(node, children);
  apply(node, attrs); // after the children, so a <select>'s value finds its option
  return node;
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  append(node, children);
  apply(node, attrs);
  return node;
}

/** Replaces the children of `node`. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** A labelled form control: `field("Recipient", input)`; ids are generated when missing. */
let ids = 0;
export function field(label, control, hint) {
  if (!control.id) control.id = `f${++ids}`;
  const parts = [h("label", { for: control.id, text: label }), control];
  if (hint) {
    const hintId = `${control.id}-hint`;
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("div", { class: "muted", id: hintId, text: hint }));
  }
  return h("div", { class: "field" }, parts);
}

/** A table: `columns` are `{label | head, num, wrap, ariaSort}`, `rows` arrays of cells (nodes or text). */
export function table(columns, rows, { caption, empty = "Nothing to show." } = {}) {
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : "", "aria-sort": c.ariaSort }, c.head || c.label)));
  const body = rows.length
    ? rows.map((cells) => {
        const tr = h("tr", cells.attrs || {});
        cells.forEach((cell, i) => tr.append(cell instanceof HTMLTableCellElement ? cell : h("td", { class: columns[i]?.num ? "num" : columns[i]?.wrap ? "wrap" : "" }, cell)));
        return tr;
      })
    : [h("tr", {}, h("td", { colspan: columns.length, class: "empty", text: empty }))];
  return h("div", { class: "table-wrap" },
    h("table", {}, caption ? h("caption", { class: "sr-only", text: caption }) : null, h("thead", {}, head), h("tbody", {}, body)));
}

/** A status message for loading, errors and empty states. */
export function notice(text, kind = "") {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : null, text });
}

/** Shows a short message in the corner (announced to screen readers). */
let toastTimer;
export function toast(text) {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.textContent = ""; }, 5000);
}

/** A modal dialog with a title; resolves when it closes. `onClose` runs once. */
export function dialog(title, body, { onClose } = {}) {
  const close = h("button", { type: "button", class: "ghost", "aria-label": "Close", text: "Close" });
  const titleId = `d${++ids}`;
  const box = h("dialog", { "aria-labelledby": titleId },
    h("div", { class: "dialog-head" }, h("h2", { id: titleId, text: title }), close),
    h("div", { class: "dialog-body" }, body));
  close.addEventListener("click", () => box.close());
  box.addEventListener("close", () => { box.remove(); onClose?.(); });
  document.body.append(box);
  box.showModal();
  return box;
}

/** Lets the arrow keys move between the tabs of a tablist (Home and End jump to the ends). */
export function arrowKeys(tablist) {
  tablist.addEventListener("keydown", (event) => {
    const tabs = [...tablist.querySelectorAll("[role=tab]")];
    const at = tabs.indexOf(document.activeElement);
    if (at < 0) return;
    const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    tabs[(next + tabs.length) % tabs.length].focus();
  });
  return tablist;
}
