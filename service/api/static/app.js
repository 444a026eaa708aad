// Shopmode demo shop: plain JavaScript on the public API, with a token for one shopper.
"use strict";

// signedIn: the shopper the page's token was minted for (demo page); follow: the stream
// of the list on screen (aborted when another list replaces it).
const state = { key: "", shopper: "", signedIn: "", lastRecommendation: null, busy: false, follow: null };
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
    if (response.status === 401 && state.signedIn) {
      // The demo page's token ran out: the page signs the same shopper in again.
      window.location.reload();
    } else if (response.status === 401) {
      $("key-panel").hidden = false;
    }
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

function why(explanation) {
  const source = explanation.source;
  const node = el("p", { class: "why" + (explanation.pending ? " pending" : "") },
    el("span", { class: "badge " + badgeClass(source), title: "written by: " + source }, source.replace("_", " ")),
    el("span", { class: "text" }, explanation.text));
  return node;
}

function card(item, index) {
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

  const reason = item.explanation ? why(item.explanation) : null;
  const sources = el("div", { class: "sources" }, ...(item.sources || []).map((s) => el("span", {}, s.replace(/_/g, " "))));
  const body = el("div", { class: "body" },
    el("div", { class: "brandname" }, item.brand || ""),
    el("div", { class: "title" }, item.title),
    prices, reason, sources);
  const actions = el("div", { class: "actions" });
  for (const [action, label] of [["view", "View"], ["cart", "Add to cart"], ["buy", "Buy"]]) {
    const button = el("button", { type: "button", class: action === "view" ? "ghost" : action }, label);
    button.dataset.action = action;
    button.addEventListener("click", () => act(action, item));
    actions.append(button);
  }
  return el("article", { class: "card", "data-product-id": item.product_id, "data-index": String(index) }, thumb, body, actions);
}

function renderCards(answer) {
  const cards = $("cards");
  cards.replaceChildren(...answer.items.map((item, index) => card(item, index)));
  if (answer.items.length === 0) {
    cards.append(el("div", { class: "empty" }, answer.note || "Nothing matches that yet. Try a wider request."));
  }
  cards.dataset.recommendationId = answer.recommendation_id;
  cards.dataset.loaded = String(Date.now());
}

// An LLM text replaces the template in its card, in place, with its badge.
function swap(recommendationId, update) {
  const cards = $("cards");
  if (cards.dataset.recommendationId !== recommendationId) return;
  const node = cards.querySelector(`.card[data-index="${update.index}"] .why`);
  if (!node || update.pending) return;
  const next = why(update.explanation);
  node.className = next.className + " swapped";
  node.replaceChildren(...next.childNodes);
  cards.dataset.swapped = String(Number(cards.dataset.swapped || 0) + 1);
}

function parseEvents(buffer, onEvent) {
  const blocks = buffer.split("\n\n");
  const rest = blocks.pop();
  for (const block of blocks) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (data.length) onEvent(event, JSON.parse(data.join("\n")));
  }
  return rest;
}

// Server-sent events through fetch (EventSource cannot send the token); polling if the
// stream cannot be had.
async function followExplanations(answer) {
  if (state.follow) state.follow.abort();
  if (!answer.explanations_url || !answer.pending_explanations) return;
  const follow = new AbortController();
  state.follow = follow;
  const id = answer.recommendation_id;
  const headers = { "Accept": "text/event-stream", "Authorization": "Bearer " + state.key };
  let done = false;
  try {
    const response = await fetch(answer.explanations_url, { headers, signal: follow.signal });
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    while (!done) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      buffer = parseEvents(buffer + value, (event, data) => {
        if (event === "explanation") swap(id, data);
        if (event === "done") done = true;
      });
    }
  } catch (error) {
    if (follow.signal.aborted) return;
  }
  if (!done && !follow.signal.aborted) await pollExplanations(answer, follow);
}

async function pollExplanations(answer, follow) {
  for (let round = 0; round < 30 && !follow.signal.aborted; round += 1) {
    try {
      const found = await api("GET", answer.explanations_url + "?wait=10");
      if (follow.signal.aborted) return;
      found.items.forEach((update) => swap(answer.recommendation_id, update));
      if (found.pending === 0) return;
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
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
    followExplanations(answer);
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
  const wanted = id.trim();
  if (!wanted) return;
  if (state.signedIn && wanted !== state.signedIn) {
    // The page's token is for one shopper: the demo signs the other one in afresh.
    const url = new URL(window.location.href);
    url.searchParams.set("shopper", wanted);
    window.location.assign(url);
    return;
  }
  state.shopper = wanted;
  $("shopper-id").value = state.shopper;
  const url = new URL(window.location.href);
  url.searchParams.set("shopper", state.shopper);
  history.replaceState(null, "", url);
  await Promise.all([loadProfile(), refresh()]);
}

function meta(name) {
  const node = document.querySelector(`meta[name="${name}"]`);
  const value = node ? node.content : "";
  return value.startsWith("{{") ? "" : value;
}

function listDemoShoppers() {
  let shoppers = [];
  try { shoppers = JSON.parse(meta("shopmode-shoppers") || "[]"); } catch (error) { shoppers = []; }
  $("demo-shoppers").replaceChildren(...shoppers.map((s) => el("option", { value: s.user_id, label: s.label })));
  return shoppers;
}

async function load() {
  const shoppers = listDemoShoppers();
  const wanted = new URL(window.location.href).searchParams.get("shopper");
  const first = state.signedIn || state.shopper || wanted || (shoppers[0] && shoppers[0].user_id);
  if (first) await selectShopper(first);
  document.body.dataset.ready = "true";
}

function start() {
  state.signedIn = meta("shopmode-shopper");
  const token = meta("shopmode-token");
  state.key = token || sessionStorage.getItem("shopmode-key") || "";
  if (!state.key) $("key-panel").hidden = false;
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.key = $("api-key").value.trim();
    state.signedIn = "";
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
