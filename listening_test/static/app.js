// codec-bench listening test client: plain JS, Web Audio at 48 kHz, no external resources.
// The DOM is built with createElement/textContent only (nothing typed by anyone becomes HTML).
"use strict";

const FADE = 0.005;          // 5 ms raised-cosine fades when starting, switching, looping, stopping
const MIN_LOOP = 0.5;        // BS.1534-3: loop region of at least 500 ms
const RATE = 48000;
const app = document.getElementById("app");
const state = { pid: null, session: null, ctx: null, buffers: new Map(), texts: {}, info: null, keys: null };

// Every participant-facing text comes from the test folder's texts.yaml (served in /api/test).
function T(key, vars) {
  let s = state.texts[key] ?? key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}
function show(...nodes) {
  onKeys(null);  // a page's keyboard shortcuts end with the page
  app.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
  window.scrollTo(0, 0);
}
function onKeys(handler) {
  if (state.keys) document.removeEventListener("keydown", state.keys, true);
  state.keys = handler;
  if (handler) document.addEventListener("keydown", handler, true);
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method, headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
  return data;
}

function newKey() {
  const a = new Uint8Array(16);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---------- audio ----------
function audioContext() {
  if (state.ctx) return state.ctx;
  let ctx;
  try { ctx = new AudioContext({ sampleRate: RATE }); } catch (e) { ctx = new AudioContext(); }
  state.ctx = ctx;
  document.body.dataset.audioRate = String(ctx.sampleRate);
  if (ctx.sampleRate !== RATE) {
    const w = document.getElementById("rate-warning");
    w.textContent = T("rate_warning", { rate: ctx.sampleRate, expected: RATE });
    w.hidden = false;
  }
  return ctx;
}

function fadeCurve(rising) {
  const n = 64, c = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = 0.5 - 0.5 * Math.cos(Math.PI * i / (n - 1));
    c[i] = rising ? v : 1 - v;
  }
  return c;
}
const FADE_IN = fadeCurve(true), FADE_OUT = fadeCurve(false);

async function loadBuffer(url) {
  if (!state.buffers.has(url)) {
    state.buffers.set(url, fetch(url).then((r) => {
      if (!r.ok) throw new Error(`cannot load ${url}`);
      return r.arrayBuffer();
    }).then((b) => audioContext().decodeAudioData(b)));
  }
  return state.buffers.get(url);
}

// Plays one of several time-aligned buffers; switching keeps the position (fade out, then fade in).
class Player {
  constructor(ctx, buffers, onPlay, loop = true, onEnd = null) {
    this.ctx = ctx; this.buffers = buffers; this.onPlay = onPlay; this.loop = loop; this.onEnd = onEnd;
    this.duration = Math.min(...Object.values(buffers).map((b) => b.duration));
    this.loopStart = 0; this.loopEnd = this.duration; this.seg = null; this.current = null;
    this.spans = {};  // id -> [start, end] parts heard; `onEnd(id)` once they cover the whole sample
  }
  heardPart(id, start, end) {
    const spans = (this.spans[id] ||= []);
    if (spans.done || end - start <= 0) return;
    spans.push([start, end]);
    spans.sort((a, b) => a[0] - b[0]);
    let reach = 0;
    for (const [a, b] of spans) { if (a > reach + 0.05) break; reach = Math.max(reach, b); }
    if (reach >= this.duration - 0.05) { spans.done = true; if (this.onEnd) this.onEnd(id); }
  }
  position() {
    if (!this.seg) return this.paused ?? this.loopStart;
    const p = this.seg.offset + Math.max(0, this.ctx.currentTime - this.seg.t);
    return Math.min(p, this.loopEnd);
  }
  startSegment(id, t, offset) {
    if (this.loopEnd - offset < 4 * FADE) offset = this.loopStart;
    const dur = this.loopEnd - offset;
    const src = this.ctx.createBufferSource(), g = this.ctx.createGain();
    src.buffer = this.buffers[id];
    g.gain.setValueAtTime(0, t);
    g.gain.setValueCurveAtTime(FADE_IN, t, FADE);
    g.gain.setValueCurveAtTime(FADE_OUT, t + dur - FADE, FADE);
    src.connect(g).connect(this.ctx.destination);
    src.start(t, offset, dur);
    const seg = { src, g, t, offset, dur, id };
    this.seg = seg;
    if (this.loop) {  // schedule the next pass shortly before this one ends
      seg.timer = setTimeout(() => {
        if (this.seg === seg) this.startSegment(id, t + dur, this.loopStart);
      }, Math.max(0, (t + dur - this.ctx.currentTime - 0.15) * 1000));
    } else {  // play once: back to the start when it ends
      seg.timer = setTimeout(() => {
        if (this.seg !== seg) return;
        this.seg = null; this.paused = null; this.current = null;
        this.heardPart(id, seg.offset, seg.offset + seg.dur);
        this.onPlay(null);
      }, Math.max(0, (t + dur - this.ctx.currentTime) * 1000));
    }
  }
  fadeOutCurrent(now) {
    const seg = this.seg;
    if (!seg) return;
    this.heardPart(seg.id, seg.offset, this.position());
    clearTimeout(seg.timer);
    try {
      seg.g.gain.cancelAndHoldAtTime(now);
      seg.g.gain.setValueCurveAtTime(FADE_OUT, now, FADE);
    } catch (e) {
      seg.g.gain.cancelScheduledValues(now);
      seg.g.gain.setValueAtTime(0, now + FADE);
    }
    try { seg.src.stop(now + FADE); } catch (e) { /* already stopped */ }
    this.seg = null;
  }
  play(id) {
    if (this.ctx.state === "suspended" && !(this.ctx instanceof OfflineAudioContext)) this.ctx.resume();
    const now = this.ctx.currentTime + 0.01;
    let pos = this.seg ? this.position() + FADE + 0.01 : (this.paused ?? this.loopStart);
    if (pos < this.loopStart || pos >= this.loopEnd) pos = this.loopStart;
    const wasPlaying = !!this.seg;
    this.fadeOutCurrent(now);
    this.current = id; this.paused = null;
    this.startSegment(id, wasPlaying ? now + FADE : now, pos);
    this.onPlay(id);
  }
  stop() {
    if (!this.seg) return;
    this.paused = this.position();
    this.fadeOutCurrent(this.ctx.currentTime + 0.01);
    this.current = null;
    this.onPlay(null);
  }
  setLoop(start, end) {
    this.loopStart = start; this.loopEnd = end;
    if (this.seg) { const id = this.current; this.play(id); }
  }
}

// ---------- playback progress of a play-once player (ACR, pairs, ABX) ----------
function playProgress(player) {
  const fill = el("div", { class: "fill" });
  const bar = el("div", { class: "playbar", id: "playbar", role: "progressbar", "aria-label": T("playback"),
    "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": 0 }, fill);
  requestAnimationFrame(function tick() {
    if (!bar.isConnected) return;
    const p = player.seg ? Math.round(100 * player.position() / player.duration) : 0;
    fill.style.width = `${p}%`; bar.setAttribute("aria-valuenow", p);
    requestAnimationFrame(tick);
  });
  return bar;
}

// ---------- waveform with a draggable loop region, numeric loop inputs and a moving play cursor ----------
function waveform(player, buffer) {
  const d = player.duration, minLen = Math.min(MIN_LOOP, d);
  const canvas = el("canvas", { class: "wave-canvas", "aria-hidden": "true" });
  const region = el("div", { class: "loop" }), cursor = el("div", { class: "cursor" });
  const box = el("div", { class: "wave", id: "wave", title: T("loop_help") }, canvas, region, cursor);
  const num = (label, id, value) => el("input", { type: "number", id, min: 0, max: d.toFixed(2), step: 0.01,
    value: value.toFixed(2), "aria-label": label });
  const startIn = num(T("loop_start"), "loop-start", 0), endIn = num(T("loop_end"), "loop-end", d);
  let start = 0, end = d;
  function setLoop(s, e, moving) {  // keep inside [0, d] and at least minLen long
    s = Math.max(0, Math.min(s, d)); e = Math.max(0, Math.min(e, d));
    if (e - s < minLen) { if (moving === "start") s = Math.max(0, e - minLen); else e = Math.min(d, s + minLen); }
    if (e - s < minLen) s = Math.max(0, e - minLen);
    start = s; end = e;
    region.style.left = `${100 * s / d}%`; region.style.width = `${100 * (e - s) / d}%`;
    startIn.value = s.toFixed(2); endIn.value = e.toFixed(2);
    player.setLoop(s, e);
  }
  startIn.addEventListener("change", () => setLoop(parseFloat(startIn.value) || 0, end, "start"));
  endIn.addEventListener("change", () => setLoop(start, parseFloat(endIn.value) || d, "end"));
  // dragging: near an edge moves that edge, elsewhere a new region is drawn from the press point
  let drag = null;
  const timeAt = (ev) => { const r = box.getBoundingClientRect(); return d * Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width)); };
  box.addEventListener("pointerdown", (ev) => {
    const t = timeAt(ev), px = d / box.getBoundingClientRect().width;
    if (Math.abs(t - start) < 8 * px) drag = { edge: "start" };
    else if (Math.abs(t - end) < 8 * px) drag = { edge: "end" };
    else drag = { anchor: t };
    box.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  });
  box.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const t = timeAt(ev);
    if (drag.edge === "start") setLoop(Math.min(t, end), end, "start");
    else if (drag.edge === "end") setLoop(start, Math.max(t, start), "end");
    else if (Math.abs(t - drag.anchor) > 0.01) setLoop(Math.min(t, drag.anchor), Math.max(t, drag.anchor), t < drag.anchor ? "start" : "end");
  });
  const release = () => { drag = null; };
  box.addEventListener("pointerup", release); box.addEventListener("pointercancel", release);
  function draw() {
    const w = Math.max(1, Math.round(box.clientWidth * devicePixelRatio)), h = Math.round(72 * devicePixelRatio);
    if (canvas.width === w && canvas.height === h) return;
    canvas.width = w; canvas.height = h;
    const g = canvas.getContext("2d"), x = buffer.getChannelData(0), step = x.length / w;
    g.fillStyle = "#5b6b8c";
    for (let i = 0; i < w; i++) {
      let lo = 0, hi = 0;
      for (let j = Math.floor(i * step), e = Math.floor((i + 1) * step); j < e; j++) { if (x[j] < lo) lo = x[j]; if (x[j] > hi) hi = x[j]; }
      const y0 = h / 2 - hi * h / 2, y1 = h / 2 - lo * h / 2;
      g.fillRect(i, y0, 1, Math.max(1, y1 - y0));
    }
  }
  setLoop(0, d);
  requestAnimationFrame(function tick() {  // first frame after the page is shown
    if (!box.isConnected) { player.stop(); return; }  // the page changed: stop and end this loop
    draw();
    cursor.style.left = `${100 * player.position() / d}%`;
    requestAnimationFrame(tick);
  });
  return el("div", { class: "transport" }, box,
    el("div", { class: "loopctl" }, el("span", { class: "muted", text: T("loop_help") }),
      el("label", {}, T("loop_start"), " ", startIn), el("label", {}, T("loop_end"), " ", endIn),
      el("button", { type: "button", text: T("stop"), onclick: () => player.stop() })));
}

// ---------- slider: "not rated" until moved; pointer and keyboard ----------
// Vertical in the desktop grid, horizontal in the phone/touch layout (CSS decides: the longer side is the
// axis). A touch rates only by a drag along the axis or a tap: a swipe across it (scrolling) or one the
// browser takes over for scrolling (pointercancel) changes nothing.
function vslider(label, onChange) {
  const thumb = el("div", { class: "thumb" }), fill = el("div", { class: "fill" });
  const s = el("div", { class: "vslider unrated", role: "slider", tabindex: 0, "aria-label": label,
    "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuetext": T("not_rated") }, fill, thumb);
  s.value = null;
  s.set = (v) => {
    v = Math.max(0, Math.min(100, Math.round(v)));
    s.value = v;
    s.classList.remove("unrated");
    s.setAttribute("aria-valuenow", v); s.setAttribute("aria-valuetext", String(v));
    s.style.setProperty("--v", `${v}%`);
    onChange(v);
  };
  const horizontal = () => { const r = s.getBoundingClientRect(); return r.width > r.height; };
  const valueAt = (ev) => {
    const r = s.getBoundingClientRect();
    return horizontal() ? 100 * (ev.clientX - r.left) / r.width : 100 * (1 - (ev.clientY - r.top) / r.height);
  };
  let touch = null;  // a touch not yet known to be a drag along the slider: {x, y, id}
  s.addEventListener("pointerdown", (ev) => {
    if (ev.pointerType === "touch") { touch = { x: ev.clientX, y: ev.clientY, id: ev.pointerId }; return; }
    s.set(valueAt(ev)); s.focus({ preventScroll: true }); s.setPointerCapture(ev.pointerId); s.dragging = true; ev.preventDefault();
  });
  s.addEventListener("pointermove", (ev) => {
    if (touch && ev.pointerId === touch.id) {
      const along = horizontal() ? Math.abs(ev.clientX - touch.x) : Math.abs(ev.clientY - touch.y);
      const across = horizontal() ? Math.abs(ev.clientY - touch.y) : Math.abs(ev.clientX - touch.x);
      if (across > 8 && across >= along) { touch = null; return; }  // a swipe across: the page scrolls
      if (along > 8) { touch = null; s.dragging = true; s.focus({ preventScroll: true }); s.setPointerCapture(ev.pointerId); }
    }
    if (s.dragging) s.set(valueAt(ev));
  });
  s.addEventListener("pointerup", (ev) => {
    if (touch && ev.pointerId === touch.id) { s.set(valueAt(ev)); s.focus({ preventScroll: true }); }  // a tap
    touch = null; s.dragging = false;
  });
  s.addEventListener("pointercancel", () => { touch = null; s.dragging = false; });
  s.addEventListener("keydown", (ev) => {
    const step = { ArrowUp: 1, ArrowRight: 1, ArrowDown: -1, ArrowLeft: -1, PageUp: 10, PageDown: -10 }[ev.key];
    if (step !== undefined) s.set((s.value ?? 50 - step) + step);
    else if (ev.key === "Home") s.set(0);
    else if (ev.key === "End") s.set(100);
    else return;
    ev.preventDefault(); ev.stopPropagation();
  });
  return s;
}

// The "next" button: stop playback, run `send` (saves the answer), then go on; a failure stays on the page.
function onNext(next, player, error, send) {
  next.addEventListener("click", async () => {
    player.stop(); next.disabled = true;
    try { await send(); await resume(); }
    catch (e) { error.textContent = T("could_not_save", { error: e.message }); next.disabled = false; }
  });
}

// Save one trial's answer under a key kept across reloads (the server recognises a resend by it).
async function saveTrial(trial, ratings, t0, comment = "") {
  const keyName = `key:${state.pid}:${trial.id}`;
  const key = sessionStorage.getItem(keyName) || newKey();
  sessionStorage.setItem(keyName, key);
  const ms = Math.round(performance.now() - t0);
  await api("POST", `/api/sessions/${state.pid}/trials/${encodeURIComponent(trial.id)}`, { key, ratings, time_ms: ms, comment });
  recordTrialTime(ms);
}

// ---------- progress bar with the estimated time left ----------
function progressBar(k, n) {
  const key = `times:${state.pid}`, times = JSON.parse(sessionStorage.getItem(key) || "[]");
  const perTrial = times.length ? times.reduce((a, b) => a + b, 0) / times.length : (state.session.type === "mushra" ? 90000 : 15000);
  const minutes = Math.max(1, Math.round((n - k + 1) * perTrial / 60000));
  const bar = el("div", { class: "bar" });
  bar.style.width = `${100 * (k - 1) / n}%`;
  return el("div", { class: "progress", id: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": n,
    "aria-valuenow": k - 1 }, el("div", { class: "track" }, bar), el("span", { class: "muted", text: T("progress", { k, n, minutes }) }));
}
function recordTrialTime(ms) {
  const key = `times:${state.pid}`, times = JSON.parse(sessionStorage.getItem(key) || "[]");
  times.push(ms); sessionStorage.setItem(key, JSON.stringify(times.slice(-10)));
}

// ---------- pages ----------
async function welcome() {
  const info = state.info;
  const consent = el("input", { type: "checkbox", id: "consent" });
  const start = el("button", { class: "primary", type: "button", id: "start", text: T("start"), disabled: true });
  consent.addEventListener("change", () => { start.disabled = !consent.checked; });
  const externalId = info.id_param ? new URLSearchParams(location.search).get(info.id_param) : null;
  start.addEventListener("click", async () => {
    start.disabled = true;
    const body = { consent: true };
    if (externalId) body.external_id = externalId;
    const s = await api("POST", "/api/sessions", body);
    state.pid = s.participant;
    history.replaceState(null, "", s.link);
    await resume();
  });
  const minutes = Math.max(5, Math.round(info.n_trials * (info.type === "mushra" ? 1.5 : 0.3)));
  show(el("h1", { text: info.title }),
    el("p", { text: T(`intro_${info.type}`) }),
    el("p", { text: T("duration", { n: info.n_trials, minutes }) }),
    el("p", { class: "muted", text: T("privacy") }),
    el("p", {}, el("label", {}, consent, " ", T("consent"))),
    el("div", { class: "actions" }, el("span"), start));
}

function sessionLink() {
  return el("p", { class: "muted" }, T("keep_link"), " ",
    el("code", { id: "session-link", text: location.origin + "/s/" + state.pid }));
}

// Antiphase headphone check (Woods et al. 2017): three 200 Hz tones, one 6 dB quieter ("quiet"), one with
// the right channel inverted ("anti", cancels over loudspeakers). Over headphones "quiet" is the quietest.
function headphoneTones(ctx, order) {
  const sr = ctx.sampleRate, tone = Math.round(0.8 * sr), gap = Math.round(0.4 * sr), ramp = Math.round(0.02 * sr);
  const buf = ctx.createBuffer(2, 3 * tone + 2 * gap, sr), L = buf.getChannelData(0), R = buf.getChannelData(1);
  order.forEach((kind, k) => {
    const off = k * (tone + gap);
    for (let i = 0; i < tone; i++) {
      const v = 0.3 * Math.min(1, i / ramp, (tone - 1 - i) / ramp) * Math.sin(2 * Math.PI * 200 * i / sr);
      const a = kind === "quiet" ? v * 0.5 : v;
      L[off + i] = a; R[off + i] = kind === "anti" ? -a : a;
    }
  });
  return buf;
}

function headphoneCheck(ctx, rounds, onDone) {
  let k = 0, correct = 0, order = null;
  const round = el("p", { class: "muted", id: "hp-round" });
  const play = el("button", { type: "button", id: "hp-play", text: T("headphone_play") });
  const answers = [1, 2, 3].map((n) => el("button", { type: "button", class: "hp-answer", id: `hp-${n}`, text: String(n), disabled: true }));
  const box = el("section", { class: "check", id: "headphone-check" }, el("h2", { text: T("headphone_title") }),
    el("p", { text: T("headphone_text", { n: rounds }) }), round, el("p", { class: "buttons" }, play, ...answers));
  const next = () => {
    order = ["normal", "quiet", "anti"].sort(() => Math.random() - 0.5);
    round.textContent = T("headphone_round", { k: k + 1, n: rounds });
    play.disabled = false; answers.forEach((b) => { b.disabled = true; });
  };
  play.addEventListener("click", () => {
    const src = ctx.createBufferSource();
    src.buffer = headphoneTones(ctx, order);
    window.ListeningTestHeadphoneTones = src.buffer;  // what is heard; lets automated tests listen too
    src.connect(ctx.destination); src.start();
    play.disabled = true; answers.forEach((b) => { b.disabled = false; });
  });
  answers.forEach((b, n) => b.addEventListener("click", async () => {
    if (order[n] === "quiet") correct += 1;
    k += 1;
    if (k < rounds) return next();
    answers.forEach((x) => { x.disabled = true; });
    const result = await api("POST", `/api/sessions/${state.pid}/checks/headphone`, { correct, total: rounds });
    if (!result.passed) return resume();  // the session ends: the server says so from now on
    round.textContent = "✓ " + T("headphone_passed", { correct, n: rounds });
    onDone();
  }));
  next();
  return box;
}

async function levelPage() {
  const s = state.session, ctx = audioContext();
  const buf = await loadBuffer(s.training.reference);
  const player = new Player(ctx, { ref: buf }, () => {});
  let played = false, checked = !s.headphone_check;
  const ok = el("button", { class: "primary", type: "button", id: "level-ok", text: T("level_ok"), disabled: true });
  const refresh = () => { ok.disabled = !(played && checked); };
  const play = el("button", { type: "button", id: "level-play", text: T("level_play"),
    onclick: () => { player.play("ref"); played = true; refresh(); } });
  ok.addEventListener("click", async () => {
    player.stop();
    await api("POST", `/api/sessions/${state.pid}/progress`, { step: "level", audio_rate: ctx.sampleRate });
    await resume();
  });
  show(el("h1", { text: T("level_title") }), sessionLink(), el("p", { text: T("level_text") }),
    el("p", { class: "buttons" }, play, el("button", { type: "button", text: T("stop"), onclick: () => player.stop() })),
    s.headphone_check ? headphoneCheck(ctx, s.headphone_trials, () => { checked = true; refresh(); }) : null,
    el("div", { class: "actions" }, el("span"), ok));
}

const questionLabel = (q) => (state.texts.questions || {})[q.name] ?? q.label;

function questionField(q) {
  const option = (o) => (state.texts.options || {})[o] ?? o;
  const required = q.optional ? {} : { required: "", "aria-required": "true" };
  const input = q.type === "choice"
    ? el("select", { name: q.name, ...required }, el("option", { value: "", text: "" }), ...q.options.map((o) => el("option", { value: o, text: option(o) })))
    : el("input", { type: q.type === "number" ? "number" : "text", name: q.name, maxlength: 500, min: q.min, max: q.max, ...required });
  return el("div", { class: "field" }, el("label", {}, el("div", { text: questionLabel(q) }), input));
}

// Every question must be answered unless the test marks it optional (the server refuses empty answers too):
// the submit button stays disabled and a line names the answers still missing.
function answerForm(questions, submit) {
  const fields = questions.map(questionField);
  const inputs = fields.map((f) => f.querySelector("[name]"));
  const missing = el("p", { class: "muted", id: "missing-answers", "aria-live": "polite" });
  const refresh = () => {
    const left = questions.filter((q, i) => !q.optional && !inputs[i].value.trim());
    submit.disabled = left.length > 0;
    missing.textContent = left.length ? T("answers_missing", { fields: left.map(questionLabel).join(", ") }) : "";
  };
  for (const input of inputs) { input.addEventListener("input", refresh); input.addEventListener("change", refresh); }
  refresh();
  const answers = () => Object.fromEntries(inputs.map((input) => [input.name, input.value]));
  return { fields, missing, answers };
}

function qualificationPage() {
  const submit = el("button", { class: "primary", type: "button", id: "submit-qualification", text: T("continue") });
  const error = el("p", { class: "error" });
  const form = answerForm(state.session.qualification, submit);
  submit.addEventListener("click", async () => {
    try { await api("POST", `/api/sessions/${state.pid}/checks/qualification`, { answers: form.answers() }); await resume(); }
    catch (e) { error.textContent = e.message; }
  });
  show(el("h1", { text: T("qualification_title") }), el("p", { text: T("qualification_text") }),
    ...form.fields, error, el("div", { class: "actions" }, form.missing, submit));
}

// A MUSHRA page (also used for training, where nothing is stored): waveform and loop on top, then the
// reference and one vertical slider per condition over the five labelled intervals.
async function mushraPage(trial, { index, total, training }) {
  const ctx = audioContext();
  const ids = ["ref", ...trial.stimuli.map((x) => x.id)];
  const urls = [trial.reference, ...trial.stimuli.map((x) => x.url)];
  show(el("p", { class: "muted", text: T("loading") }));
  const bufs = await Promise.all(urls.map(loadBuffer));
  const buffers = Object.fromEntries(ids.map((id, i) => [id, bufs[i]]));
  const played = new Set(), buttons = new Map(), sliders = new Map(), values = new Map();
  const t0 = performance.now();
  const next = el("button", { class: "primary", type: "button", id: "next", disabled: true,
    text: training ? T("start_test") : (index === total ? T("finish") : T("next")) });
  const status = el("span", { class: "muted", id: "status" });
  const refresh = () => {
    const left = trial.stimuli.filter((x) => !played.has(x.id) || (!training && sliders.get(x.id).value === null)).length;
    next.disabled = left > 0;
    status.textContent = left > 0 ? T(training ? "left_to_play" : "left_to_do", { n: left }) : "";
  };
  let last = "ref";
  const player = new Player(ctx, buffers, (id) => {
    if (id) { played.add(id); last = id; }
    for (const [bid, b] of buttons) { b.classList.toggle("active", bid === id); b.classList.toggle("played", played.has(bid)); }
    refresh();
  });
  const letter = (i) => String.fromCharCode(65 + i);
  const refBtn = el("button", { type: "button", class: "stim ref", "data-stimulus": "ref", text: T("reference"),
    title: "R", onclick: () => player.play("ref") });
  buttons.set("ref", refBtn);
  const columns = trial.stimuli.map((x, i) => {
    const b = el("button", { type: "button", class: "stim", "data-stimulus": x.id, text: letter(i),
      title: `${i + 1} / ${letter(i)}`, onclick: () => { player.play(x.id); sliders.get(x.id).focus(); } });
    buttons.set(x.id, b);
    const value = el("span", { class: "value", text: T("not_rated") });
    const slider = vslider(`${letter(i)}`, (v) => { value.textContent = String(v); value.classList.add("rated"); refresh(); });
    slider.dataset.stimulus = x.id;
    sliders.set(x.id, slider);
    values.set(x.id, value);
    return el("div", { class: "col" }, b, el("div", { class: "slot" }, slider), value);
  });
  const bands = el("div", { class: "bands", "aria-hidden": "true" },
    ...[...scaleLabels()].reverse().map((l) => el("div", {}, el("span", { text: l }))));
  const refCol = el("div", { class: "col refcol" }, refBtn, el("div", { class: "slot" }), el("span", { class: "value" }));
  // the reference and the scale: one sticky header above the rows in the phone/touch layout
  const grid = el("div", { class: "rating" }, el("div", { class: "rhead" }, refCol, bands), ...columns);
  const comment = el("textarea", { id: "comment", rows: 2, maxlength: 2000, placeholder: T("comment") });
  const error = el("p", { class: "error", id: "error" });
  onNext(next, player, error, () => training
    ? api("POST", `/api/sessions/${state.pid}/progress`, { step: "training" })
    : saveTrial(trial, Object.fromEntries([...sliders].map(([id, s]) => [id, s.value])), t0, comment.value));
  refresh();
  show(training ? null : progressBar(index, total),
    el("h1", { text: training ? T("training_title") : T("trial_title", { k: index, n: total }) }),
    el("p", { text: training ? T("training_mushra") : T("mushra_task") }),
    waveform(player, buffers.ref),
    el("p", { class: "keys muted", id: "keys-help", text: T("keys_help") }),
    el("div", { class: "rating-scroll" }, grid),
    training ? null : el("div", { class: "field" }, comment),
    error, el("div", { class: "actions sticky" }, status, next), sessionLink());
  const select = (id) => { player.play(id); if (sliders.has(id)) sliders.get(id).focus(); };
  onKeys((ev) => {
    if (ev.target instanceof HTMLTextAreaElement || ev.target instanceof HTMLInputElement || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const k = ev.key.length === 1 ? ev.key.toUpperCase() : ev.key;
    let i = -1;
    if (k === " ") { if (player.seg) player.stop(); else select(last); }
    else if (k === "R") select("ref");
    else if (/^[1-9]$/.test(k)) i = parseInt(k, 10) - 1;
    else if (/^[A-Z]$/.test(k)) i = k.charCodeAt(0) - 65;
    else return;
    if (i >= 0) { if (i >= trial.stimuli.length) return; select(trial.stimuli[i].id); }
    ev.preventDefault(); ev.stopPropagation();
  });
}

async function mosPage(trial, { index, total }) {
  const ctx = audioContext();
  const stim = trial.stimuli[0];
  const buffer = await loadBuffer(stim.url);
  let heard = false;  // P.808: a rating counts only after the whole recording was heard
  const next = el("button", { class: "primary", type: "button", id: "next", text: index === total ? T("finish") : T("next"), disabled: true });
  const choice = () => app.querySelector("input[name=acr]:checked");
  const status = el("span", { class: "muted", id: "status" });
  const refresh = () => {
    next.disabled = !(heard && choice());
    status.textContent = heard ? "" : T("listen_to_end");
  };
  const player = new Player(ctx, { s: buffer }, () => {}, false, () => {
    heard = true; app.querySelector("button.stim")?.classList.add("played"); refresh();
  });
  refresh();
  const scale = el("div", { class: "acr" }, ...scaleLabels().map((l, i) => el("label", {},
    el("input", { type: "radio", name: "acr", value: i + 1, onchange: refresh }), el("strong", { text: String(i + 1) }), l)));
  const error = el("p", { class: "error", id: "error" });
  const t0 = performance.now();
  onNext(next, player, error, () => saveTrial(trial, { [stim.id]: parseInt(choice().value, 10) }, t0));
  show(progressBar(index, total), el("h1", { text: T("trial_title", { k: index, n: total }) }),
    el("p", { text: T("mos_task") }),
    el("p", { class: "buttons" }, el("button", { type: "button", class: "stim", "data-stimulus": stim.id, text: T("play"), onclick: () => player.play("s") }),
      el("button", { type: "button", text: T("stop"), onclick: () => player.stop() })),
    playProgress(player), scale, error, el("div", { class: "actions" }, status, next), sessionLink());
}

// the labels of this test's scale, from the texts (translated), low end first
function scaleLabels() {
  return state.texts[`scale_${state.session.type}`] ?? state.texts.scale;
}

// CCR and DCR: two samples played one after the other, one rating of the second against the first.
async function pairPage(trial, { index, total }) {
  const ctx = audioContext(), [first, second] = trial.stimuli, type = state.session.type;
  const bufs = await Promise.all(trial.stimuli.map((x) => loadBuffer(x.url)));
  const played = new Set();
  const next = el("button", { class: "primary", type: "button", id: "next", text: index === total ? T("finish") : T("next"), disabled: true });
  const choice = () => app.querySelector("input[name=pair]:checked");
  const status = el("span", { class: "muted", id: "status" });
  const refresh = () => {
    next.disabled = !(played.size === 2 && choice());
    status.textContent = played.size === 2 ? "" : T("listen_to_end");
  };
  const player = new Player(ctx, { [first.id]: bufs[0], [second.id]: bufs[1] }, () => {}, false, (id) => {
    played.add(id);  // heard from start to end
    for (const b of app.querySelectorAll("button.stim")) b.classList.toggle("played", played.has(b.dataset.stimulus));
    refresh();
  });
  refresh();
  const low = state.session.scale.low, numbered = type !== "ab";
  const offered = (v) => type !== "ab" || v !== 0 || state.session.options.no_preference;
  const scale = el("div", { class: "pair-scale" }, ...scaleLabels().map((l, i) => offered(low + i) ? el("label", {},
    el("input", { type: "radio", name: "pair", value: low + i, onchange: refresh }),
    numbered ? el("strong", { text: (low + i > 0 && low < 0 ? "+" : "") + String(low + i) }) : null, l) : null).reverse());
  const error = el("p", { class: "error", id: "error" });
  const t0 = performance.now();
  onNext(next, player, error, () => saveTrial(trial, { [second.id]: parseInt(choice().value, 10) }, t0));
  show(progressBar(index, total), el("h1", { text: T("trial_title", { k: index, n: total }) }),
    el("p", { text: T(`pair_task_${type}`) }),
    el("p", { class: "buttons" },
      el("button", { type: "button", class: "stim", "data-stimulus": first.id, text: T("first"), onclick: () => player.play(first.id) }),
      el("button", { type: "button", class: "stim", "data-stimulus": second.id, text: T("second"), onclick: () => player.play(second.id) }),
      el("button", { type: "button", text: T("stop"), onclick: () => player.stop() })),
    playProgress(player), scale, error, el("div", { class: "actions" }, status, next), sessionLink());
}

// ABX: A and B, then X (one of them, from its own URL); the answer is the sample X matches.
async function abxPage(trial, { index, total }) {
  const ctx = audioContext(), [a, b] = trial.stimuli;
  const bufs = await Promise.all([a.url, b.url, trial.x].map(loadBuffer));
  const played = new Set();
  const next = el("button", { class: "primary", type: "button", id: "next", text: index === total ? T("finish") : T("next"), disabled: true });
  const choice = () => app.querySelector("input[name=abx]:checked");
  const status = el("span", { class: "muted", id: "status" });
  const refresh = () => {
    next.disabled = !(played.size === 3 && choice());
    status.textContent = played.size === 3 ? "" : T("listen_to_end");
  };
  const player = new Player(ctx, { A: bufs[0], B: bufs[1], X: bufs[2] }, () => {}, false, (id) => {
    played.add(id);  // heard from start to end
    for (const btn of app.querySelectorAll("button.stim")) btn.classList.toggle("played", played.has(btn.dataset.stimulus));
    refresh();
  });
  refresh();
  const answer = (id, label) => el("label", {}, el("input", { type: "radio", name: "abx", value: id, onchange: refresh }), label);
  const error = el("p", { class: "error", id: "error" });
  const t0 = performance.now();
  onNext(next, player, error, () => saveTrial(trial, { [choice().value]: 1 }, t0));
  const button = (id, text) => el("button", { type: "button", class: "stim", "data-stimulus": id, text, onclick: () => player.play(id) });
  show(progressBar(index, total), el("h1", { text: T("trial_title", { k: index, n: total }) }),
    el("p", { text: T("pair_task_abx") }),
    el("p", { class: "buttons" }, button("A", "▶ A"), button("B", "▶ B"), button("X", "▶ X"),
      el("button", { type: "button", text: T("stop"), onclick: () => player.stop() })),
    playProgress(player), el("div", { class: "pair-scale" }, answer(a.id, T("x_is_a")), answer(b.id, T("x_is_b"))),
    error, el("div", { class: "actions" }, status, next), sessionLink());
}

async function mosTraining() {
  const ctx = audioContext(), t = state.session.training;
  const bufs = await Promise.all(t.stimuli.map((x) => loadBuffer(x.url)));
  const played = new Set();
  const next = el("button", { class: "primary", type: "button", id: "next", text: T("start_test"), disabled: true });
  const player = new Player(ctx, Object.fromEntries(t.stimuli.map((x, i) => [x.id, bufs[i]])), () => {}, false, (id) => {
    played.add(id);  // heard from start to end
    for (const b of app.querySelectorAll("button.stim")) b.classList.toggle("played", played.has(b.dataset.stimulus));
    next.disabled = played.size < t.stimuli.length;
  });
  next.addEventListener("click", async () => {
    player.stop();
    await api("POST", `/api/sessions/${state.pid}/progress`, { step: "training" });
    await resume();
  });
  show(el("h1", { text: T("training_title") }), el("p", { text: T("training_mos") }),
    el("p", { class: "buttons" }, ...t.stimuli.map((x, i) => el("button", { type: "button", class: "stim", "data-stimulus": x.id,
      text: T("example", { n: i + 1 }), onclick: () => player.play(x.id) })),
      el("button", { type: "button", text: T("stop"), onclick: () => player.stop() })),
    playProgress(player), el("div", { class: "actions" }, el("span"), next));
}

function questionnairePage() {
  const submit = el("button", { class: "primary", type: "button", id: "submit-questionnaire", text: T("submit") });
  const error = el("p", { class: "error" });
  const form = answerForm(state.session.questionnaire, submit);
  submit.addEventListener("click", async () => {
    try { await api("POST", `/api/sessions/${state.pid}/questionnaire`, { answers: form.answers() }); await resume(); }
    catch (e) { error.textContent = e.message; }
  });
  show(el("h1", { text: T("questionnaire_title") }), ...form.fields, error, el("div", { class: "actions" }, form.missing, submit));
}

function screenedOutPage() {
  const hp = state.session.headphone_result || {};
  show(el("h1", { id: "screened-out", text: T("headphone_failed_title") }),
    el("p", { text: T("headphone_failed_text", { correct: hp.correct, n: hp.total, needed: hp.needed }) }));
}

// P.808: long sessions tire listeners; a break page every `break_every` trials (the answers are saved)
function breakPage(k, n, onGo) {
  const go = el("button", { class: "primary", type: "button", id: "continue", text: T("continue"), onclick: onGo });
  show(el("h1", { id: "break", text: T("break_title") }), el("p", { text: T("break_text", { k, n }) }),
    el("div", { class: "actions" }, el("span"), go));
}

function donePage() {
  const c = state.session.completion || {};
  show(el("h1", { id: "done", text: T("done_title") }), el("p", { text: T("done_text") }),
    c.completion_code ? el("p", { class: "completion", id: "completion-code" }, T("completion_code", { code: c.completion_code })) : null,
    c.completion_url ? el("p", {}, el("a", { id: "completion-link", class: "button primary", href: c.completion_url, rel: "noreferrer" }, T("completion_link"))) : null);
}

async function resume() {
  const s = await api("GET", `/api/sessions/${state.pid}`);
  state.session = s;
  const done = new Set(s.completed);
  const remaining = s.trials.filter((t) => !done.has(t.id));
  if (s.phase === "screened_out") return screenedOutPage();
  if (s.phase === "qualification") return qualificationPage();
  if (s.phase === "level") return levelPage();
  if (s.phase === "training") return s.page === "mushra" ? mushraPage(s.training, { training: true }) : mosTraining();
  if (s.phase === "trials") {
    const index = s.trials.length - remaining.length + 1, total = s.trials.length;
    const page = { mushra: mushraPage, acr: mosPage, pair: pairPage, abx: abxPage }[s.page];
    const rested = `break:${state.pid}:${index}`;
    if (s.break_every && index > 1 && (index - 1) % s.break_every === 0 && !sessionStorage.getItem(rested)) {
      return breakPage(index - 1, total, () => { sessionStorage.setItem(rested, "1"); page(remaining[0], { index, total }); });
    }
    return page(remaining[0], { index, total });
  }
  if (s.phase === "questionnaire") return questionnairePage();
  return donePage();
}

function smallWindowNotice() {  // phones and small windows: usable, but say that a computer is better
  const n = document.getElementById("small-screen");
  n.textContent = T("small_screen");
  n.hidden = window.innerWidth >= 700;
}

async function main() {
  const m = location.pathname.match(/^\/s\/([A-Za-z0-9_-]+)$/);
  try {
    state.info = await api("GET", "/api/test");
    state.texts = state.info.texts;
    document.documentElement.lang = state.texts.language || "en";
    smallWindowNotice();
    window.addEventListener("resize", smallWindowNotice);
    if (m) { state.pid = m[1]; await resume(); } else { await welcome(); }
  } catch (e) {
    show(el("h1", { text: T("error_title") }), el("p", { class: "error", text: e.message }));
  }
}
window.ListeningTestPlayer = Player;  // for the offline-rendering test of fades
main();
