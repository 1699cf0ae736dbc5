// codec-bench listening test client: plain JS, Web Audio at 48 kHz, no external resources.
// The DOM is built with createElement/textContent only (nothing typed by anyone becomes HTML).
"use strict";

const FADE = 0.005;          // 5 ms raised-cosine fades when starting, switching, looping, stopping
const MIN_LOOP = 0.5;        // BS.1534-3: loop region of at least 500 ms
const RATE = 48000;
const LABELS = ["Bad", "Poor", "Fair", "Good", "Excellent"];
const app = document.getElementById("app");
const state = { pid: null, session: null, ctx: null, buffers: new Map() };

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
function show(...nodes) { app.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined)); window.scrollTo(0, 0); }

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
    w.textContent = `Warning: this browser plays audio at ${ctx.sampleRate} Hz instead of ${RATE} Hz, so the ` +
      "stimuli are resampled. Please use another browser (e.g. a current Chrome or Firefox) if you can.";
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
  constructor(ctx, buffers, onPlay, loop = true) {
    this.ctx = ctx; this.buffers = buffers; this.onPlay = onPlay; this.loop = loop;
    this.duration = Math.min(...Object.values(buffers).map((b) => b.duration));
    this.loopStart = 0; this.loopEnd = this.duration; this.seg = null; this.current = null;
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
        if (this.seg === seg) { this.seg = null; this.paused = null; this.current = null; this.onPlay(null); }
      }, Math.max(0, (t + dur - this.ctx.currentTime) * 1000));
    }
  }
  fadeOutCurrent(now) {
    const seg = this.seg;
    if (!seg) return;
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

function transport(player) {
  const loop = el("div", { class: "loop" }), cursor = el("div", { class: "cursor" });
  const timeline = el("div", { class: "timeline", title: "playback position and loop region" }, loop, cursor);
  const d = player.duration;
  const startIn = el("input", { type: "range", min: 0, max: d.toFixed(3), step: 0.01, value: 0, "aria-label": "loop start" });
  const endIn = el("input", { type: "range", min: 0, max: d.toFixed(3), step: 0.01, value: d.toFixed(3), "aria-label": "loop end" });
  const label = el("span", { class: "muted" });
  function update() {
    let s = parseFloat(startIn.value), e = parseFloat(endIn.value);
    const minLen = Math.min(MIN_LOOP, d);
    if (e - s < minLen) {
      if (document.activeElement === endIn) s = Math.max(0, e - minLen); else e = Math.min(d, s + minLen);
      if (e - s < minLen) s = Math.max(0, e - minLen);
      startIn.value = s; endIn.value = e;
    }
    loop.style.left = `${100 * s / d}%`; loop.style.width = `${100 * (e - s) / d}%`;
    label.textContent = `loop ${s.toFixed(2)}–${e.toFixed(2)} s`;
    player.setLoop(s, e);
  }
  startIn.addEventListener("input", update); endIn.addEventListener("input", update);
  update();
  requestAnimationFrame(function tick() {  // first frame after the page is shown
    if (!timeline.isConnected) { player.stop(); return; }  // the page changed: stop and end this loop
    cursor.style.left = `${100 * player.position() / d}%`;
    requestAnimationFrame(tick);
  });
  const stopBtn = el("button", { type: "button", text: "■ Stop", onclick: () => player.stop() });
  return el("div", { class: "transport" }, timeline,
    el("div", { class: "loopctl" }, el("span", { text: "Loop start" }), startIn, el("span", { text: "end" }), endIn, label),
    stopBtn);
}

// ---------- pages ----------
async function welcome() {
  const info = await api("GET", "/api/test");
  const consent = el("input", { type: "checkbox", id: "consent" });
  const start = el("button", { class: "primary", type: "button", id: "start", text: "Start", disabled: true });
  consent.addEventListener("change", () => { start.disabled = !consent.checked; });
  start.addEventListener("click", async () => {
    start.disabled = true;
    const s = await api("POST", "/api/sessions", { consent: true });
    state.pid = s.participant;
    history.replaceState(null, "", s.link);
    await resume();
  });
  show(el("h1", { text: info.title }),
    el("p", { text: info.type === "mushra"
      ? "You will compare several processed versions of short speech recordings with the original (the reference) and rate each on a scale from 0 to 100."
      : "You will hear short speech recordings one at a time and rate the quality of each on a five-point scale." }),
    el("p", { text: `The test has ${info.n_trials} trials and takes about ${Math.max(5, Math.round(info.n_trials * (info.type === "mushra" ? 1.5 : 0.3)))} minutes. Please use headphones in a quiet room.` }),
    el("p", { class: "muted", text: "Your ratings and questionnaire answers are stored anonymously and used only for research. You can stop at any time." }),
    el("p", {}, el("label", {}, consent, " I agree to take part and to the storage of my anonymous answers.")),
    el("div", { class: "actions" }, el("span"), start));
}

function sessionLink() {
  return el("p", { class: "muted" }, "To continue later, keep this link: ",
    el("code", { id: "session-link", text: location.origin + "/s/" + state.pid }));
}

async function levelPage() {
  const s = state.session, ctx = audioContext();
  const buf = await loadBuffer(s.training.reference);
  const player = new Player(ctx, { ref: buf }, () => {});
  const ok = el("button", { class: "primary", type: "button", id: "level-ok", text: "The level is comfortable", disabled: true });
  const play = el("button", { type: "button", id: "level-play", text: "▶ Play example",
    onclick: () => { player.play("ref"); ok.disabled = false; } });
  ok.addEventListener("click", async () => {
    player.stop();
    await api("POST", `/api/sessions/${state.pid}/progress`, { step: "level", audio_rate: ctx.sampleRate });
    await resume();
  });
  show(el("h1", { text: "Level check" }), sessionLink(),
    el("p", { text: "Play the example and set your device volume to a comfortable level. Do not change it during the test." }),
    el("p", { class: "buttons" }, play, el("button", { type: "button", text: "■ Stop", onclick: () => player.stop() })),
    el("div", { class: "actions" }, el("span"), ok));
}

// A MUSHRA page (also used for training, where nothing is stored).
async function mushraPage(trial, { index, total, training }) {
  const ctx = audioContext();
  const ids = ["ref", ...trial.stimuli.map((x) => x.id)];
  const urls = [trial.reference, ...trial.stimuli.map((x) => x.url)];
  show(el("p", { class: "muted", text: "Loading audio…" }));
  const bufs = await Promise.all(urls.map(loadBuffer));
  const buffers = Object.fromEntries(ids.map((id, i) => [id, bufs[i]]));
  const played = new Set(), buttons = new Map(), scores = new Map();
  const t0 = performance.now();
  const next = el("button", { class: "primary", type: "button", id: "next", disabled: true,
    text: training ? "Start the test" : (index === total ? "Finish" : "Next") });
  const status = el("span", { class: "muted", id: "status" });
  const refresh = () => {
    const left = trial.stimuli.length - trial.stimuli.filter((x) => played.has(x.id)).length;
    next.disabled = left > 0;
    status.textContent = left > 0 ? `Play every condition before going on (${left} left).` : "";
  };
  const player = new Player(ctx, buffers, (id) => {
    if (id) played.add(id);
    for (const [bid, b] of buttons) { b.classList.toggle("active", bid === id); b.classList.toggle("played", played.has(bid)); }
    refresh();
  });
  const refBtn = el("button", { type: "button", class: "stim", "data-stimulus": "ref", text: "▶ Reference", onclick: () => player.play("ref") });
  buttons.set("ref", refBtn);
  const rows = trial.stimuli.map((x, i) => {
    const name = String.fromCharCode(65 + i);
    const b = el("button", { type: "button", class: "stim", "data-stimulus": x.id, text: `▶ ${name}`, onclick: () => player.play(x.id) });
    buttons.set(x.id, b);
    const value = el("span", { class: "value", text: "0" });
    const slider = el("input", { type: "range", class: "score", min: 0, max: 100, step: 1, value: 0,
      "data-stimulus": x.id, "aria-label": `score for ${name}` });
    scores.set(x.id, slider);
    slider.addEventListener("input", () => { value.textContent = slider.value; });
    return el("div", { class: "row" }, el("span", { class: "stim-label" }, b), slider, value);
  });
  const comment = el("textarea", { id: "comment", rows: 2, maxlength: 2000, placeholder: "Comment (optional)" });
  const error = el("p", { class: "error", id: "error" });
  const keyName = `key:${state.pid}:${trial.id}`;
  next.addEventListener("click", async () => {
    player.stop();
    next.disabled = true;
    try {
      if (training) {
        await api("POST", `/api/sessions/${state.pid}/progress`, { step: "training" });
      } else {
        const key = sessionStorage.getItem(keyName) || newKey();
        sessionStorage.setItem(keyName, key);
        const ratings = Object.fromEntries([...scores].map(([id, s]) => [id, parseInt(s.value, 10)]));
        await api("POST", `/api/sessions/${state.pid}/trials/${encodeURIComponent(trial.id)}`,
          { key, ratings, time_ms: Math.round(performance.now() - t0), comment: comment.value });
      }
      await resume();
    } catch (e) { error.textContent = `Could not save (${e.message}). Please try again.`; next.disabled = false; }
  });
  refresh();
  show(el("h1", { text: training ? "Training" : `Trial ${index} of ${total}` }),
    el("p", { text: training
      ? "Listen to the reference and all conditions to learn the range of quality in this test. Your ratings here are not stored."
      : "Compare each condition with the reference and rate it. One of the conditions is identical to the reference: give it 100." }),
    el("div", { class: "row" }, el("span", { class: "stim-label" }, refBtn),
      el("span", { class: "muted", text: "Switch at any time; playback continues at the same position." })),
    transport(player),
    el("div", { class: "scale" }, ...LABELS.map((l) => el("span", { text: l }))),
    ...rows,
    training ? null : el("div", { class: "field" }, comment),
    error, el("div", { class: "actions" }, status, next), sessionLink());
}

async function mosPage(trial, { index, total }) {
  const ctx = audioContext();
  const stim = trial.stimuli[0];
  const buffer = await loadBuffer(stim.url);
  let played = false;
  const next = el("button", { class: "primary", type: "button", id: "next", text: index === total ? "Finish" : "Next", disabled: true });
  const choice = () => app.querySelector("input[name=acr]:checked");
  const refresh = () => { next.disabled = !(played && choice()); };
  const player = new Player(ctx, { s: buffer }, (id) => { if (id) { played = true; refresh(); } }, false);
  const scale = el("div", { class: "acr" }, ...LABELS.map((l, i) => el("label", {},
    el("input", { type: "radio", name: "acr", value: i + 1, onchange: refresh }), el("strong", { text: String(i + 1) }), l)));
  const error = el("p", { class: "error", id: "error" });
  const keyName = `key:${state.pid}:${trial.id}`;
  const t0 = performance.now();
  next.addEventListener("click", async () => {
    player.stop(); next.disabled = true;
    try {
      const key = sessionStorage.getItem(keyName) || newKey();
      sessionStorage.setItem(keyName, key);
      await api("POST", `/api/sessions/${state.pid}/trials/${encodeURIComponent(trial.id)}`,
        { key, ratings: { [stim.id]: parseInt(choice().value, 10) }, time_ms: Math.round(performance.now() - t0), comment: "" });
      await resume();
    } catch (e) { error.textContent = `Could not save (${e.message}). Please try again.`; next.disabled = false; }
  });
  show(el("h1", { text: `Trial ${index} of ${total}` }),
    el("p", { text: "Listen to the recording, then rate its overall quality." }),
    el("p", { class: "buttons" }, el("button", { type: "button", class: "stim", "data-stimulus": stim.id, text: "▶ Play", onclick: () => player.play("s") }),
      el("button", { type: "button", text: "■ Stop", onclick: () => player.stop() })),
    scale, error, el("div", { class: "actions" }, el("span"), next), sessionLink());
}

async function mosTraining() {
  const ctx = audioContext(), t = state.session.training;
  const bufs = await Promise.all(t.stimuli.map((x) => loadBuffer(x.url)));
  const played = new Set();
  const next = el("button", { class: "primary", type: "button", id: "next", text: "Start the test", disabled: true });
  const player = new Player(ctx, Object.fromEntries(t.stimuli.map((x, i) => [x.id, bufs[i]])), (id) => {
    if (id) played.add(id);
    next.disabled = played.size < t.stimuli.length;
  }, false);
  next.addEventListener("click", async () => {
    player.stop();
    await api("POST", `/api/sessions/${state.pid}/progress`, { step: "training" });
    await resume();
  });
  show(el("h1", { text: "Training" }),
    el("p", { text: "These examples show the range of quality you will hear. Play each of them." }),
    el("p", { class: "buttons" }, ...t.stimuli.map((x, i) => el("button", { type: "button", class: "stim", "data-stimulus": x.id,
      text: `▶ Example ${i + 1}`, onclick: () => player.play(x.id) })),
      el("button", { type: "button", text: "■ Stop", onclick: () => player.stop() })),
    el("div", { class: "actions" }, el("span"), next));
}

function questionnairePage() {
  const fields = state.session.questionnaire.map((q) => {
    const input = q.type === "choice"
      ? el("select", { name: q.name }, el("option", { value: "", text: "" }), ...q.options.map((o) => el("option", { value: o, text: o })))
      : el("input", { type: q.type === "number" ? "number" : "text", name: q.name, maxlength: 500 });
    return el("div", { class: "field" }, el("label", {}, el("div", { text: q.label }), input));
  });
  const submit = el("button", { class: "primary", type: "button", id: "submit-questionnaire", text: "Submit" });
  const error = el("p", { class: "error" });
  submit.addEventListener("click", async () => {
    const answers = {};
    for (const input of app.querySelectorAll("[name]")) answers[input.name] = input.value;
    try { await api("POST", `/api/sessions/${state.pid}/questionnaire`, { answers }); await resume(); }
    catch (e) { error.textContent = e.message; }
  });
  show(el("h1", { text: "A few questions" }), ...fields, error, el("div", { class: "actions" }, el("span"), submit));
}

function donePage() {
  show(el("h1", { id: "done", text: "Thank you!" }), el("p", { text: "Your answers are saved. You can close this page." }));
}

async function resume() {
  const s = await api("GET", `/api/sessions/${state.pid}`);
  state.session = s;
  const done = new Set(s.completed);
  const remaining = s.trials.filter((t) => !done.has(t.id));
  if (s.phase === "level") return levelPage();
  if (s.phase === "training") return s.type === "mushra" ? mushraPage(s.training, { training: true }) : mosTraining();
  if (s.phase === "trials") {
    const index = s.trials.length - remaining.length + 1, total = s.trials.length;
    return s.type === "mushra" ? mushraPage(remaining[0], { index, total }) : mosPage(remaining[0], { index, total });
  }
  if (s.phase === "questionnaire") return questionnairePage();
  return donePage();
}

async function main() {
  const m = location.pathname.match(/^\/s\/([A-Za-z0-9_-]+)$/);
  try {
    if (m) { state.pid = m[1]; await resume(); } else { await welcome(); }
  } catch (e) {
    show(el("h1", { text: "Something went wrong" }), el("p", { class: "error", text: e.message }));
  }
}
window.ListeningTestPlayer = Player;  // for the offline-rendering test of fades
main();
