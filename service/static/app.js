// Shopmode demo shop: plain JavaScript on the public API (recommend + events:write only).
"use strict";

const state = { key: "", shopper: "", lastRecommendation: null, busy: false };
const $ = (id) => document.getElementById(id);
const EVENT_TYPES = { view: "view", cart: "add_to_cart", buy: "purchase" };
const WHAT = { view: "viewed", click: "clicked", add_to_cart: "carted", purchase: "bought",
  search: "searched", impression: "saw" };
const PALETTE = ["#2563eb", "#7c3aed", "#db2777", "#ea580c", "#059669", "#0891b2", "#4f46e5",
  "#b45309", "#be123c", "#0d9488"];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("data-")) node.setAttribute(name, value);
    else node[name] = value;
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
  }
  return node;
}

function money(value) {
  return "$" + Number(value).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function hue(text) {
  let h = 0;
  for (const ch of text) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

function status(text, isError = false) {
  const node = $("status");
  node.textContent = text;
  node.classList.toggle("error", isError);
}

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (state.key) headers["Authorization"] = "Bearer " + state.key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    if (response.status === 401) $("key-panel").hidden = false;
    const fields = (data.errors || []).map((e) => `${e.field}: ${e.message}`).join("; ");
    throw new Error(fields || data.detail || `HTTP ${response.status}`);
  }
  return data;
}

function mode() {
  return document.querySelector('input[name="mode"]:checked').value;
}

function renderIntent(intent) {
  const box = $("intent");
  box.replaceChildren();
  if (!intent) { box.hidden = true; return; }
  const understood = intent.understood || [];
  box.append(el("span", { class: "muted" }, understood.length ? "Understood:" : "Searching for:"));
  for (const phrase of understood) box.append(el("span", { class: "chip" }, phrase));
  for (const term of intent.terms || []) box.append(el("span", { class: "chip term" }, "“" + term + "”"));
  box.hidden = understood.length === 0 && (intent.terms || []).length === 0;
}

function badgeClass(source) {
  return source.startsWith("fallback") ? "fallback" : source;
}

function card(item) {
  const initials = item.category.split(/[\s&]+/).filter(Boolean).slice(0, 2).map((w) => w[0]).join("");
  const thumb = el("div", { class: "thumb" }, initials.toUpperCase());
  thumb.style.background = `linear-gradient(135deg, ${hue(item.category)}, ${hue(item.brand || item.title)})`;
  thumb.append(el("span", { class: "tag" }, item.category));

  const prices = el("div", { class: "prices" });
  if (item.discount > 0) {
    const now = item.price * (1 - item.discount);
    prices.append(
      el("span", { class: "price", "data-price": String(item.price) }, money(now)),
      el("span", { class: "price was" }, money(item.price)),
      el("span", { class: "off" }, `−${Math.round(item.discount * 100)}%`),
    );
  } else {
    prices.append(el("span", { class: "price", "data-price": String(item.price) }, money(item.price)));
  }

  let why = null;
  if (item.explanation) {
    const source = item.explanation.source;
    why = el("p", { class: "why" },
      el("span", { class: "badge " + badgeClass(source), title: "written by: " + source }, source.replace("_", " ")),
      item.explanation.text);
  }
  const sources = el("div", { class: "sources" }, ...(item.sources || []).map((s) => el("span", {}, s.replace(/_/g, " "))));
  const body = el("div", { class: "body" },
    el("div", { class: "brandname" }, item.brand || ""),
    el("div", { class: "title" }, item.title),
    prices, why, sources);
  const actions = el("div", { class: "actions" });
  for (const [action, label] of [["view", "View"], ["cart", "Add to cart"], ["buy", "Buy"]]) {
    const button = el("button", { type: "button", class: action === "view" ? "ghost" : action }, label);
    button.dataset.action = action;
    button.addEventListener("click", () => act(action, item));
    actions.append(button);
  }
  return el("article", { class: "card", "data-product-id": item.product_id }, thumb, body, actions);
}

function renderCards(answer) {
  const cards = $("cards");
  cards.replaceChildren(...answer.items.map(card));
  if (answer.items.length === 0) {
    cards.append(el("div", { class: "empty" }, answer.note || "Nothing matches that yet. Try a wider request."));
  }
  cards.dataset.recommendationId = answer.recommendation_id;
  cards.dataset.loaded = String(Date.now());
}

async function refresh(prefix = "") {
  if (!state.shopper) return;
  const message = $("ask").value.trim();
  const k = 12;
  const diversity = Number($("diversity").value);
  status("Finding products…");
  try {
    const answer = message
      ? await api("POST", "/v1/ask", { user_id: state.shopper, message, k, explain: mode(), diversity })
      : await api("POST", "/v1/recommendations", { user_id: state.shopper, k, explain: mode(), diversity });
    state.lastRecommendation = answer.recommendation_id;
    renderIntent(message ? answer.intent : null);
    renderCards(answer);
    const parts = [`${answer.items.length} products`];
    if (answer.shortfall) parts.push(`${answer.shortfall} fewer than asked met the request`);
    if (answer.degraded) parts.push(answer.note || "degraded answer");
    status((prefix ? prefix + " · " : "") + parts.join(" · "));
  } catch (error) {
    status(error.message, true);
  }
}

async function loadProfile() {
  try {
    const profile = await api("GET", `/v1/users/${encodeURIComponent(state.shopper)}/profile`);
    const recent = $("recent");
    recent.replaceChildren(...profile.recent.map((r) =>
      el("li", {}, el("span", { class: "what" }, WHAT[r.type] || r.type), r.title || r.product_id)));
    if (profile.recent.length === 0) recent.append(el("li", { class: "muted" }, "No activity yet"));
    const chips = (names) => names.length
      ? names.map((n) => el("span", { class: "chip" }, n))
      : [el("span", { class: "muted" }, "None yet")];
    $("followed").replaceChildren(...chips(profile.followed_brands));
    $("liked").replaceChildren(...chips(profile.liked_categories));
    const where = profile.region ? ` in the ${profile.region}` : "";
    $("profile-summary").textContent = profile.known
      ? `Shopper ${profile.user_id}${where}.`
      : `Shopper ${profile.user_id}${where} is new here: you'll see what's trending.`;
  } catch (error) {
    status(error.message, true);
  }
}

async function act(action, item) {
  if (state.busy) return;
  state.busy = true;
  document.querySelectorAll(".actions button").forEach((b) => { b.disabled = true; });
  const event = {
    user_id: state.shopper,
    type: EVENT_TYPES[action],
    product_id: item.product_id,
    ts: Date.now() / 1000,
    recommendation_id: state.lastRecommendation,
  };
  if (action === "buy") { event.price = item.price * (1 - item.discount); event.quantity = 1; }
  try {
    await api("POST", "/v1/events", event);
    const done = { view: "Viewed", cart: "Added to cart", buy: "Bought" }[action];
    await Promise.all([refresh(`${done}: ${item.title}`), loadProfile()]);
  } catch (error) {
    status(error.message, true);
  } finally {
    state.busy = false;
  }
}

async function selectShopper(id) {
  state.shopper = id.trim();
  if (!state.shopper) return;
  $("shopper-id").value = state.shopper;
  const url = new URL(window.location.href);
  url.searchParams.set("shopper", state.shopper);
  history.replaceState(null, "", url);
  await Promise.all([loadProfile(), refresh()]);
}

async function loadDemoShoppers() {
  try {
    const found = await api("GET", "/v1/shoppers/demo");
    $("demo-shoppers").replaceChildren(...found.shoppers.map((s) => el("option", { value: s.user_id, label: s.label })));
    return found.shoppers;
  } catch (error) {
    status(error.message, true);
    return [];
  }
}

async function load() {
  const shoppers = await loadDemoShoppers();
  const wanted = new URL(window.location.href).searchParams.get("shopper");
  const first = state.shopper || wanted || (shoppers[0] && shoppers[0].user_id);
  if (first) await selectShopper(first);
  document.body.dataset.ready = "true";
}

function start() {
  const meta = document.querySelector('meta[name="shopmode-key"]');
  const given = meta ? meta.content : "";
  state.key = sessionStorage.getItem("shopmode-key") || (given.startsWith("{{") ? "" : given);
  if (!state.key) $("key-panel").hidden = false;
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.key = $("api-key").value.trim();
    sessionStorage.setItem("shopmode-key", state.key);
    $("key-panel").hidden = true;
    load();
  });
  $("shopper-form").addEventListener("submit", (e) => { e.preventDefault(); selectShopper($("shopper-id").value); });
  $("ask-form").addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
  $("clear-ask").addEventListener("click", () => { $("ask").value = ""; refresh(); });
  $("diversity").addEventListener("change", () => refresh());
  document.querySelectorAll('input[name="mode"]').forEach((r) => r.addEventListener("change", () => refresh()));
  load();
}

document.addEventListener("DOMContentLoaded", start, { once: true });
