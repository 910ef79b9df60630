// kmq's image viewer: a Streamlit components-v2 component (no build step, nothing from the network).
//
// Shows the result as large as the window allows, the before/after slider, the two side by side,
// and a 1:1 / zoom view of the full-size pixels that is aimed by clicking or dragging on the image.
// An eyedropper sends the point clicked to Python, which picks the colour from the full-size
// original (kmq_core.picking). The footer says how long the user waited for this result, measured
// here in the browser from the interaction that asked for it (or from opening the page) until its
// images were decoded, with the server's stages in between.
//
// Python -> data: {id, w, h, pw, ph, before, after, tag_before, tag_after, zoom, timing,
//                  region {x0, y0, x1, y1} (the emphasis region, outlined), marking (hint text while
//                  the region is marked: clicks are then its corners, sent as "pick")}
// Python <- state "aim" {cx, cy, z, vw, vh}   (where the zoom view looks; persists)
//           trigger "pick" {x, y, size}        (eyedropper: a point in full-size pixels)

const MODES = [["result", "Result"], ["slider", "Before / after"], ["side", "Side by side"], ["zoom", "1:1 zoom"]];
const ZOOMS = [1, 2, 4, 8];
const GAP = 8;

// One clock per page: the time of the last interaction anywhere on it (capture phase, so
// Streamlit's widgets cannot hide it), to tell how long the user has been waiting.
function pageClock() {
  if (!window.__kmqClock) {
    const clock = { last: null };
    for (const ev of ["pointerdown", "keydown", "change", "drop"]) {
      document.addEventListener(ev, () => { clock.last = performance.now(); }, true);
    }
    window.__kmqClock = clock;
  }
  return window.__kmqClock;
}

function el(tag, cls, parent) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (parent) parent.appendChild(e);
  return e;
}

function fmt(s) { return s.toFixed(2); }

// Mark the image as old the moment an input outside it changes (the server marks it too, but only
// once its rerun has started): "Updating…" until the new result arrives or the page is idle again.
function watchInputs(v) {
  const mark = (e) => {
    if (e.composedPath && e.composedPath().includes(v.root)) return;
    v.root.classList.add("pending");
    v.root.dataset.pending = "true";
    clearTimeout(v.pendingTimer);
    v.pendingTimer = setTimeout(() => idle(v), 1500);
  };
  const onSlider = (e) => { if (e.target.closest && e.target.closest("[role=slider], input[type=range]")) mark(e); };
  document.addEventListener("change", mark, true);
  document.addEventListener("keyup", onSlider, true);
  document.addEventListener("pointerup", onSlider, true);
}

function idle(v) {
  if (document.querySelector("[data-testid=stStatusWidget]")) v.pendingTimer = setTimeout(() => idle(v), 300);
  else unmark(v);
}

function unmark(v) {
  clearTimeout(v.pendingTimer);
  v.root.classList.remove("pending");
  delete v.root.dataset.pending;
}

// the original's preview in a canvas, for the eyedropper's chip
function prepareCanvas(v) {
  const d = v.data;
  if (v.canvasFor === d.id) return;
  const source = new Image();
  source.onload = () => {
    const c = document.createElement("canvas");
    c.width = d.pw; c.height = d.ph;
    c.getContext("2d", { willReadFrequently: true }).drawImage(source, 0, 0, d.pw, d.ph);
    v.canvas = c; v.canvasFor = d.id;
  };
  source.src = d.before;
}

function build(parentElement) {
  const root = el("div", "kv", parentElement);
  const bar = el("div", "kv-bar", root);
  const modes = el("div", "kv-modes", bar);
  modes.setAttribute("role", "tablist");
  const v = { root, mode: sessionStorage.getItem("kmq.mode") || "result", z: 2, picking: false,
              shownId: null, shownAt: null, pos: 50, drag: null, canvas: null };
  v.modeButtons = {};
  for (const [m, label] of MODES) {
    const b = el("button", "kv-mode", modes);
    b.type = "button"; b.textContent = label; b.dataset.mode = m; b.setAttribute("role", "tab");
    b.onclick = () => setMode(v, m);
    v.modeButtons[m] = b;
  }
  const tools = el("div", "kv-tools", bar);
  const zooms = el("div", "kv-zooms", tools);
  v.zoomButtons = {};
  for (const z of ZOOMS) {
    const b = el("button", "kv-zoom", zooms);
    b.type = "button"; b.textContent = z + "×"; b.title = `Each image pixel as ${z}×${z} screen pixels`;
    b.onclick = () => { v.z = z; sendAim(v, v.aim ? v.aim.cx : null, v.aim ? v.aim.cy : null); render(v); };
    v.zoomButtons[z] = b;
  }
  v.pickButton = el("button", "kv-pick", tools);
  v.pickButton.type = "button";
  v.pickButton.innerHTML = '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path fill="currentColor" d="M20.7 5.6 18.4 3.3a1 1 0 0 0-1.4 0l-3.1 3.1-1.9-1.9-1.4 1.4 1.4 1.4L3 16.3V21h4.7l9-9 1.4 1.4 1.4-1.4-1.9-1.9 3.1-3.1a1 1 0 0 0 0-1.4ZM6.9 19H5v-1.9l8.1-8.1 1.9 1.9L6.9 19Z"/></svg><span>Pick a colour to lock</span>';
  v.pickButton.title = "Eyedropper: click the image to lock the original's colour there (Esc to stop)";
  v.pickButton.setAttribute("aria-pressed", "false");
  v.pickButton.onclick = () => { v.picking = !v.picking; render(v); };
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && v.picking) { v.picking = false; render(v); } });

  v.stage = el("div", "kv-stage", root);
  v.chip = el("div", "kv-chip", root);
  v.foot = el("div", "kv-foot", root);
  v.time = el("span", "kv-time", v.foot);
  v.hint = el("span", "kv-hint", v.foot);
  new ResizeObserver(() => layout(v)).observe(root);
  window.addEventListener("resize", () => layout(v));
  return v;
}

function setMode(v, m) {
  v.mode = m;
  sessionStorage.setItem("kmq.mode", m);
  if (m === "zoom") sendAim(v, v.aim ? v.aim.cx : null, v.aim ? v.aim.cy : null);
  render(v);
}

// where the zoom view looks, in full-size pixels; Python cuts the 1:1 crops for it
function sendAim(v, cx, cy) {
  const d = v.data;
  if (!d) return;
  const pane = paneSize(v);
  cx = cx == null ? d.w / 2 : Math.min(Math.max(cx, 0), d.w);
  cy = cy == null ? d.h / 2 : Math.min(Math.max(cy, 0), d.h);
  v.aim = { cx: Math.round(cx), cy: Math.round(cy), z: v.z, vw: Math.round(pane.w), vh: Math.round(pane.h) };
  v.setStateValue("aim", v.aim);
}

// the largest box of the image's shape that fits the width here and the window's height below
function fit(v, columns) {
  const d = v.data;
  const width = Math.max(120, (v.root.clientWidth - (columns - 1) * GAP) / columns);
  const main = v.root.closest("[data-testid=stMain]") || document.scrollingElement;
  const top = v.stage.getBoundingClientRect().top + (main ? main.scrollTop : 0);
  const room = Math.max(260, window.innerHeight - top - v.foot.offsetHeight - 24);
  const aspect = d.pw / d.ph;
  const w = Math.min(width, room * aspect);
  return { w: Math.floor(w), h: Math.floor(w / aspect), room };
}

function paneSize(v) {
  const width = Math.max(120, (v.root.clientWidth - GAP) / 2);
  const f = v.data ? fit(v, 2) : { room: 400 };
  return { w: Math.floor(width), h: Math.floor(Math.min(f.room, width * 1.1)) };
}

function img(src, cls, alt) {
  const i = document.createElement("img");
  i.className = cls; i.alt = alt; i.src = src; i.draggable = false;
  return i;
}

function render(v) {
  const d = v.data;
  for (const [m, b] of Object.entries(v.modeButtons)) {
    b.setAttribute("aria-selected", String(m === v.mode));
    b.classList.toggle("on", m === v.mode);
  }
  for (const [z, b] of Object.entries(v.zoomButtons)) b.classList.toggle("on", Number(z) === v.z);
  v.root.querySelector(".kv-zooms").style.display = v.mode === "zoom" ? "" : "none";
  const eyedropper = v.picking && !(d && d.marking);  // while marking the region, clicks are corners, not colours
  v.pickButton.classList.toggle("on", eyedropper);
  v.pickButton.setAttribute("aria-pressed", String(eyedropper));
  v.root.classList.toggle("picking", v.picking);
  v.root.dataset.mode = v.mode;
  v.stage.replaceChildren();
  v.chip.style.display = "none";
  if (!d) return;
  v.hint.textContent = d.marking ? d.marking : v.picking ? "Click the image to lock the original colour under the pointer."
    : v.mode === "result" || v.mode === "side" ? "Click the image to see it 1:1." : "";
  if (v.mode === "result") {
    const box = el("div", "kv-box", v.stage);
    box.appendChild(img(d.after, "kv-img kv-after", d.tag_after));
    tag(box, d.tag_after, "right");
    v.boxes = [box];
  } else if (v.mode === "side") {
    const row = el("div", "kv-row", v.stage);
    const a = el("div", "kv-box", row), b = el("div", "kv-box", row);
    a.appendChild(img(d.before, "kv-img kv-before", d.tag_before)); tag(a, d.tag_before, "left");
    b.appendChild(img(d.after, "kv-img kv-after", d.tag_after)); tag(b, d.tag_after, "right");
    v.boxes = [a, b];
  } else if (v.mode === "slider") {
    const box = el("div", "kv-box kv-cmp", v.stage);
    box.appendChild(img(d.after, "kv-img kv-after", d.tag_after));
    const top = el("div", "kv-clip", box);
    top.appendChild(img(d.before, "kv-img kv-before", d.tag_before));
    top.style.clipPath = `inset(0 ${100 - v.pos}% 0 0)`;
    const line = el("div", "kv-line", box);
    line.style.left = v.pos + "%";
    tag(box, d.tag_before, "left"); tag(box, d.tag_after, "right");
    const range = el("input", "kv-range", box);
    Object.assign(range, { type: "range", min: 0, max: 100, step: 0.1, value: v.pos });
    range.setAttribute("aria-label", "before/after position");
    range.oninput = () => {
      v.pos = Number(range.value);
      top.style.clipPath = `inset(0 ${100 - v.pos}% 0 0)`;
      line.style.left = v.pos + "%";
    };
    v.boxes = [box];
  } else {
    renderZoom(v);
  }
  if (d.region && v.mode !== "zoom") for (const box of v.boxes) outline(box, d);
  layout(v);
  if (v.mode !== "zoom") for (const box of v.boxes) wireBox(v, box);
}

// the emphasis region, drawn over the image in fractions of its size (so it follows every layout)
function outline(box, d) {
  const r = d.region, o = el("div", "kv-region", box);
  Object.assign(o.style, { left: (100 * r.x0 / d.w) + "%", top: (100 * r.y0 / d.h) + "%",
                           width: (100 * (r.x1 - r.x0) / d.w) + "%", height: (100 * (r.y1 - r.y0) / d.h) + "%" });
  o.title = "Emphasis region: the fit counts these pixels most";
}

function tag(box, text, side) {
  const t = el("span", "kv-tag " + side, box);
  t.textContent = text;
}

function renderZoom(v) {
  const d = v.data, zm = d.zoom;
  const row = el("div", "kv-row kv-zoomrow", v.stage);
  v.boxes = [];
  v.panes = [];
  for (const [which, label] of [["before", d.tag_before], ["after", d.tag_after]]) {
    const pane = el("div", "kv-pane", row);
    pane.dataset.which = which;
    if (zm && zm.z) {
      const i = img(zm[which], "kv-crop kv-" + which, label + " at 1:1");
      i.style.width = zm.cw * zm.z + "px"; i.style.height = zm.ch * zm.z + "px";
      Object.assign(i.dataset, { x0: zm.x0, y0: zm.y0, cw: zm.cw, ch: zm.ch, z: zm.z });
      pane.appendChild(i);
    } else {
      el("div", "kv-wait", pane).textContent = "Cutting the 1:1 view…";
    }
    tag(pane, label, which === "before" ? "left" : "right");
    wirePane(v, pane);
    v.panes.push(pane);
  }
  // the overview: where the 1:1 window is; click or drag in it to aim
  const map = el("div", "kv-map", v.stage);
  map.appendChild(img(d.after, "kv-img kv-after", "overview"));
  const rect = el("div", "kv-rect", map);
  v.map = map; v.rect = rect;
  const aimAt = (e) => {
    const r = map.getBoundingClientRect();
    sendAim(v, (e.clientX - r.left) / r.width * d.w, (e.clientY - r.top) / r.height * d.h);
    placeRect(v);
  };
  map.onpointerdown = (e) => { map.setPointerCapture(e.pointerId); v.mapDrag = true; aimRect(v, e); };
  map.onpointermove = (e) => { if (v.mapDrag) aimRect(v, e); };
  map.onpointerup = (e) => { if (v.mapDrag) { v.mapDrag = false; aimAt(e); } };
}

function aimRect(v, e) {  // move the rectangle while dragging, aim on release
  const r = v.map.getBoundingClientRect(), d = v.data;
  v.pending = { cx: (e.clientX - r.left) / r.width * d.w, cy: (e.clientY - r.top) / r.height * d.h };
  placeRect(v);
}

function placeRect(v) {
  const d = v.data, zm = d.zoom;
  if (!v.rect) return;
  const mw = v.map.clientWidth, s = mw / d.w;
  let cx, cy, cw, ch;
  const c = v.pending || v.aim || { cx: d.w / 2, cy: d.h / 2 };
  if (zm && zm.z) { cw = zm.cw; ch = zm.ch; } else { cw = d.w / 4; ch = d.h / 4; }
  cx = c.cx; cy = c.cy;
  if (!v.pending && zm && zm.z) { cx = zm.x0 + zm.cw / 2; cy = zm.y0 + zm.ch / 2; }
  Object.assign(v.rect.style, { left: (cx - cw / 2) * s + "px", top: (cy - ch / 2) * s + "px",
                                width: Math.max(4, cw * s) + "px", height: Math.max(4, ch * s) + "px" });
}

function wirePane(v, pane) {
  pane.onpointerdown = (e) => {
    if (v.picking) return;
    pane.setPointerCapture(e.pointerId);
    v.drag = { x: e.clientX, y: e.clientY, moved: false };
  };
  pane.onpointermove = (e) => {
    if (!v.drag) return;
    const dx = e.clientX - v.drag.x, dy = e.clientY - v.drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) v.drag.moved = true;
    for (const p of v.panes) {
      const c = p.querySelector(".kv-crop");
      if (c) c.style.transform = `translate(${dx}px, ${dy}px)`;
    }
  };
  pane.onpointerup = (e) => {
    const zm = v.data.zoom;
    if (v.picking) {
      if (!zm || !zm.z) return;
      const c = pane.querySelector(".kv-crop").getBoundingClientRect();
      const x = zm.x0 + (e.clientX - c.left) / zm.z, y = zm.y0 + (e.clientY - c.top) / zm.z;
      pick(v, x, y, 1);
      return;
    }
    if (!v.drag) return;
    const drag = v.drag; v.drag = null;
    if (!zm || !zm.z) return;
    const cx = zm.x0 + zm.cw / 2, cy = zm.y0 + zm.ch / 2;
    if (drag.moved) {  // dragged: the image follows the pointer
      sendAim(v, cx - (e.clientX - drag.x) / zm.z, cy - (e.clientY - drag.y) / zm.z);
    } else {  // clicked: centre on that pixel
      const c = pane.querySelector(".kv-crop").getBoundingClientRect();
      sendAim(v, zm.x0 + (e.clientX - c.left) / zm.z, zm.y0 + (e.clientY - c.top) / zm.z);
    }
  };
}

function wireBox(v, box) {
  box.onpointermove = (e) => {
    if (!v.picking) return;
    const p = boxPoint(v, box, e);
    const rgb = previewColour(v, p.u, p.t);
    if (!rgb) return;
    const rs = v.root.getBoundingClientRect();
    Object.assign(v.chip.style, { display: "block", left: (e.clientX - rs.left + 14) + "px",
                                  top: (e.clientY - rs.top + 14) + "px", background: `rgb(${rgb.join(",")})` });
  };
  box.onpointerleave = () => { v.chip.style.display = "none"; };
  box.onclick = (e) => {
    const p = boxPoint(v, box, e);
    if (p.u < 0 || p.u > 1 || p.t < 0 || p.t > 1) return;
    const d = v.data;
    if (v.picking) {
      const shown = box.getBoundingClientRect().width;
      pick(v, p.u * d.w, p.t * d.h, Math.max(1, Math.round(d.w / shown)));
    } else if (v.mode !== "slider") {
      v.mode = "zoom"; sessionStorage.setItem("kmq.mode", "zoom");
      sendAim(v, p.u * d.w, p.t * d.h);
      render(v);
    }
  };
}

function boxPoint(v, box, e) {
  const r = box.getBoundingClientRect();
  return { u: (e.clientX - r.left) / r.width, t: (e.clientY - r.top) / r.height };
}

// the colour of the original's preview under the pointer, for the eyedropper's chip (Python picks
// the colour itself from the full-size original)
function previewColour(v, u, t) {
  const d = v.data;
  if (!v.canvas || v.canvasFor !== d.id) return null;
  const x = Math.min(d.pw - 1, Math.max(0, Math.floor(u * d.pw)));
  const y = Math.min(d.ph - 1, Math.max(0, Math.floor(t * d.ph)));
  const px = v.canvas.getContext("2d").getImageData(x, y, 1, 1).data;
  return [px[0], px[1], px[2]];
}

function pick(v, x, y, size) {
  const d = v.data;
  x = Math.min(Math.max(x, 0), d.w - 1e-6); y = Math.min(Math.max(y, 0), d.h - 1e-6);
  v.setTriggerValue("pick", { x, y, size, n: Date.now() });
}

function layout(v) {
  const d = v.data;
  if (!d || !v.boxes) return;
  if (v.mode === "zoom") {
    const pane = paneSize(v);
    for (const p of v.panes || []) { p.style.width = pane.w + "px"; p.style.height = pane.h + "px"; }
    const mw = Math.min(180, Math.floor(pane.w / 3));
    v.map.style.width = mw + "px"; v.map.style.height = Math.round(mw * d.ph / d.pw) + "px";
    placeRect(v);
    return;
  }
  const f = fit(v, v.mode === "side" ? 2 : 1);
  for (const box of v.boxes) { box.style.width = f.w + "px"; box.style.height = f.h + "px"; }
}

function showTime(v, d, start, end) {
  const t = d.timing || { server: [], cached: true };
  const server = t.server.reduce((s, [, x]) => s + x, 0);
  let upload = 0;
  if (start !== null) {
    const ups = performance.getEntriesByType("resource").filter(
      (e) => e.name.includes("/_stcore/upload_file") && e.startTime >= start - 1);
    if (ups.length) upload = Math.max(...ups.map((e) => e.responseEnd)) - Math.min(...ups.map((e) => e.startTime));
  }
  upload /= 1000;
  const parts = [];
  if (upload > 0) parts.push(["upload", upload]);
  for (const [name, s] of t.server) parts.push([name, s]);
  let total;
  if (start === null) {
    total = server;  // no interaction seen: only what the server measured
  } else {
    total = Math.max((end - start) / 1000, upload + server);
    parts.push([start === 0 ? "loading the page" : "page and display", Math.max(0, total - upload - server)]);
  }
  v.time.dataset.total = total.toFixed(3);
  v.time.dataset.server = server.toFixed(3);
  v.time.dataset.upload = upload.toFixed(3);
  const what = t.cached ? " (kept from before)" : "";
  v.time.textContent = `Ready in ${fmt(total)} s${what}` +
    (parts.length ? ": " + parts.map(([n, s]) => `${n} ${fmt(s)}`).join(" · ") : "");
  v.time.title = "The time you waited for this result, from your click (or from opening the page) until it was " +
    "on screen, measured in the browser; the steps in seconds.";
}

export default function (component) {
  const { data, setStateValue, setTriggerValue, parentElement } = component;
  const clock = pageClock();
  let v = parentElement.__kv;
  if (!v) { v = build(parentElement); parentElement.__kv = v; watchInputs(v); }
  v.setStateValue = setStateValue; v.setTriggerValue = setTriggerValue;
  const fresh = !v.data || v.data.id !== data.id;
  v.data = data;
  v.pending = null;
  // marking the emphasis region: clicks are its corners, through the eyedropper's trigger
  if (Boolean(data.marking) !== Boolean(v.marking)) { v.marking = Boolean(data.marking); v.picking = v.marking; }
  if (fresh) unmark(v);
  prepareCanvas(v);
  if (data.zoom && data.zoom.z) v.z = data.zoom.z;
  render(v);
  if (fresh) {
    const since = v.shownAt;
    // the interaction that asked for this result: the last one after the previous result appeared
    const start = since === null ? (clock.last ?? 0) : (clock.last !== null && clock.last > since ? clock.last : null);
    const imgs = [...v.root.querySelectorAll("img")];
    Promise.all(imgs.map((i) => i.decode().catch(() => null))).then(() => {
      const end = performance.now();
      v.shownAt = end; v.shownId = data.id;
      v.root.dataset.shown = data.id;
      showTime(v, data, start, end);
    });
  }
  if (v.mode === "zoom" && !(data.zoom && data.zoom.z)) sendAim(v, null, null);
}
