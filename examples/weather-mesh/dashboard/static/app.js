// The weather mesh dashboard: subscribes to a hub's station records over
// AimX 3.0's WebSocket dialect and draws one card per station. Plain
// JavaScript, no dependencies. See package dashboard's documentation for
// the query parameters (?ws=, ?topic=, ?token=).
"use strict";

(() => {
  const WINDOW_MS = 5 * 60 * 1000; // sparkline history
  const HISTORY_LIMIT = 150; // stored values asked for per record (record.query)
  const STALE_INTERVALS = 3; // missed intervals before a station is stale
  const UNKNOWN_INTERVAL_MS = 10 * 1000; // until two readings give one
  const RATE_WINDOW_MS = 10 * 1000;
  const PING_EVERY_MS = 20 * 1000;
  const LIST_EVERY_MS = 10 * 1000; // record.list refresh, for the graph's counters
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15 * 1000;
  const SVGNS = "http://www.w3.org/2000/svg";

  // The value field of each kind is read from the hub's contracts (GET
  // /schemas, see loadSchemas); these names stand until then, and when
  // the hub serves none.
  const KINDS = [
    { kind: "temperature", label: "Temperature", unit: "°C", field: "celsius", span: 1 },
    { kind: "humidity", label: "Humidity", unit: "%", field: "percent", span: 4 },
    { kind: "dew_point", label: "Dew point", unit: "°C", field: "celsius", span: 1 },
  ];
  // A station's id is its slot (a number) for MQTT stations, or a
  // device's name (mcu1) for a station the hub mirrors over AimX.
  const KEY_RE = /^station\.([A-Za-z0-9_-]+)\.(temperature|humidity|dew_point)$/;

  const params = new URLSearchParams(location.search);
  const topic = params.get("topic") || "station.#";
  const wsURL = endpoint();

  const $ = (id) => document.getElementById(id);
  const stations = new Map(); // station id (a string) -> station
  const records = new Map(); // record_key -> record.list row
  let selected = null; // id of the station whose graph is drawn: the first, until one is picked
  let picked = false; // the user picked a station

  // Connection state.
  let ws = null;
  let nextID = 1;
  let subID = 0;
  let listID = 0;
  let historyID = 0;
  let lastSeq = 0;
  let attempt = 0;
  let retryAt = 0;
  let retryTimer = 0;
  let pingTimer = 0;
  let listTimer = 0;
  let awaitingPong = false;

  // Counters.
  let lost = 0;
  let total = 0;
  const arrivals = []; // arrival times of live events, for the rate

  $("stat-endpoint").textContent = wsURL.replace(/([?&]token=)[^&]*/, "$1…");
  $("foot-ws").textContent = wsURL.replace(/([?&]token=)[^&]*/, "$1…");
  $("foot-topic").textContent = topic;

  // endpoint returns the WebSocket URL: ?ws= (a path or a URL), else /ws
  // on the page's host, with v=3.0 and the page's ?token=.
  function endpoint() {
    const u = new URL(params.get("ws") || "/ws", location.href);
    if (u.protocol === "http:") u.protocol = "ws:";
    if (u.protocol === "https:") u.protocol = "wss:";
    if (!u.searchParams.has("v")) u.searchParams.set("v", "3.0");
    const token = params.get("token");
    if (token && !u.searchParams.has("token")) u.searchParams.set("token", token);
    return u.toString();
  }

  // ---- contracts --------------------------------------------------------

  // loadSchemas reads the JSON Schema of the hub's data contracts, served
  // at /schemas beside the WebSocket, and takes each kind's value field
  // from the current version of the contract of that name: its first
  // property of type "number" (timestamps are integers). It resolves
  // when done, or after 3 s, or on any failure, keeping the built-in
  // names; document.body.dataset.schemas says which ("loaded", "none").
  function loadSchemas() {
    const u = new URL(wsURL);
    u.protocol = u.protocol === "wss:" ? "https:" : "http:";
    u.pathname = u.pathname.replace(/[^/]*$/, "schemas");
    u.search = "";
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 3000);
    return fetch(u, { signal: ctl.signal, cache: "no-store" })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(r.status + " " + r.statusText))))
      .then((doc) => {
        const defs = (doc && doc.$defs) || {};
        let found = 0;
        for (const spec of KINDS) {
          const field = valueField(defs, spec.kind);
          if (field) {
            spec.field = field;
            found++;
          }
        }
        document.body.dataset.schemas = found ? "loaded" : "none";
      })
      .catch((e) => {
        console.warn("dashboard: no contracts from", u.toString(), e);
        document.body.dataset.schemas = "none";
      })
      .finally(() => clearTimeout(timer));
  }

  // valueField returns the number field of the current version of the
  // contract named name in defs, or "".
  function valueField(defs, name) {
    const top = defs[name];
    if (!top) return "";
    const refs = (top.oneOf || [top]).map((r) => (r.$ref || "").replace("#/$defs/", "")).filter((r) => defs[r]);
    const current = refs.find((r) => /the current version$/.test(defs[r].title || "")) || refs[refs.length - 1];
    const props = (current && defs[current].properties) || {};
    for (const [field, p] of Object.entries(props)) {
      if (p && p.type === "number") return field;
    }
    return "";
  }

  // ---- connection -------------------------------------------------------

  function setStatus(state, text) {
    const el = $("status");
    el.className = "status " + state;
    el.dataset.state = state;
    $("status-text").textContent = text;
    document.body.classList.toggle("offline", state !== "live");
  }

  function connect() {
    clearTimeout(retryTimer);
    retryAt = 0;
    setStatus(attempt === 0 ? "connecting" : "reconnecting", attempt === 0 ? "Connecting…" : "Reconnecting…");
    let sock;
    try {
      sock = new WebSocket(wsURL);
    } catch (e) {
      console.error("dashboard: bad WebSocket URL", wsURL, e);
      setStatus("error", "Bad WebSocket URL");
      return;
    }
    ws = sock;
    sock.onopen = () => {
      if (ws !== sock) return;
      lastSeq = 0;
      subID = nextID++;
      send({ t: "sub", id: subID, topic: topic });
      history();
      list();
      pingTimer = setInterval(ping, PING_EVERY_MS);
      listTimer = setInterval(list, LIST_EVERY_MS);
    };
    sock.onmessage = (ev) => {
      if (ws !== sock) return;
      let f;
      try {
        f = JSON.parse(ev.data);
      } catch {
        return; // not a frame: skip it
      }
      onFrame(f);
    };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      clearInterval(pingTimer);
      clearInterval(listTimer);
      awaitingPong = false;
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt) * (0.8 + 0.4 * Math.random());
      attempt++;
      retryAt = Date.now() + delay;
      retryTimer = setTimeout(connect, delay);
      const why = ev.code === 1000 || ev.code === 1005 ? "" : " (" + (ev.reason || "code " + ev.code) + ")";
      console.warn("dashboard: connection closed" + why + "; retrying in " + Math.round(delay) + " ms");
      showRetry();
    };
  }

  function send(f) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(f));
  }

  // list asks for record.list with full rows (this server's "detail"
  // extension; other servers ignore it), for the origins and counters.
  function list() {
    listID = nextID++;
    send({ t: "req", id: listID, method: "record.list", params: { detail: true } });
  }

  // history asks the hub for the stored values of the last WINDOW_MS
  // (record.query, newest HISTORY_LIMIT per record), on every connect:
  // on load the sparklines start full, and after a reconnect they get
  // what was missed. A hub that keeps no history answers with an error,
  // and the sparklines fill from live values.
  function history() {
    historyID = nextID++;
    send({
      t: "req",
      id: historyID,
      method: "record.query",
      params: { name: topic, start: Math.max(0, Date.now() - WINDOW_MS), order: "desc", limit: HISTORY_LIMIT },
    });
  }

  // ping sends an application ping; a connection that did not answer the
  // previous one is closed, so that the page reconnects.
  function ping() {
    if (awaitingPong && ws) {
      ws.close(4000, "no pong");
      return;
    }
    awaitingPong = true;
    send({ t: "ping" });
  }

  function showRetry() {
    if (!retryAt) return;
    const s = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
    setStatus("reconnecting", "Reconnecting in " + s + " s (attempt " + attempt + ")");
  }

  // goLive marks the connection live once the subscription is in place,
  // and counts connections (data-connects) to tell reconnects apart.
  function goLive() {
    attempt = 0;
    const el = $("status");
    el.dataset.connects = String(Number(el.dataset.connects || 0) + 1);
    setStatus("live", "Live");
  }

  function onFrame(f) {
    switch (f.t) {
      case "subscribed":
        if (String(f.sub) === String(subID)) goLive();
        break;
      case "snap":
      case "event":
        if (String(f.sub) !== String(subID)) return;
        if (typeof f.seq === "number") {
          if (lastSeq && f.seq > lastSeq + 1) lost += f.seq - lastSeq - 1;
          lastSeq = Math.max(lastSeq, f.seq);
        }
        if (!$("status").classList.contains("live")) goLive(); // servers without "subscribed" acks
        if (f.topic) onValue(f.topic, f.data, f.t === "snap");
        break;
      case "reply":
        if (f.id === listID) {
          if (Array.isArray(f.ok)) onRecords(f.ok);
        } else if (f.id === historyID) {
          onHistory(f.ok && Array.isArray(f.ok.records) ? f.ok.records : null);
        } else if (f.id === subID && f.err) {
          setStatus("error", "Subscription refused: " + f.err);
        }
        break;
      case "pong":
        awaitingPong = false;
        break;
    }
  }

  // ---- stations ---------------------------------------------------------

  function onValue(key, data, snap) {
    const m = KEY_RE.exec(key);
    if (!m || data === null || typeof data !== "object") return;
    const slot = m[1];
    const spec = KINDS.find((k) => k.kind === m[2]);
    const v = Number(data[spec.field]);
    if (!Number.isFinite(v)) return;
    const now = Date.now();
    const ts = Number.isFinite(data.timestamp) && data.timestamp > 0 ? data.timestamp : now;
    const st = stations.get(slot) || addStation(slot);
    const series = st.series[spec.kind];
    const prev = series.length ? series[series.length - 1] : null;
    if (prev && ts === prev.t && snap) {
      return; // the snapshot of a value already shown (after a reconnect)
    }
    if (prev && ts < prev.t - 60 * 1000) {
      series.length = 0; // the station restarted with an earlier clock
    } else if (prev && ts < prev.t) {
      return; // older than what is shown: arrived out of order
    }
    series.push({ t: ts, v: v });
    const from = ts - WINDOW_MS;
    let drop = 0;
    while (drop < series.length && series[drop].t < from) drop++;
    if (drop) series.splice(0, drop);
    if (series.length > 2000) series.splice(0, series.length - 2000);

    // A snapshot is an old value: the station was last seen when it was
    // stamped (never later than now). An event is seen now.
    const seen = snap ? Math.min(now, ts) : now;
    st.lastSeen = Math.max(st.lastSeen, seen);
    st.count++;
    total++;
    if (!snap) {
      arrivals.push(now);
      const k = st.nodes.get(key);
      if (k) flash(k);
    }
    st.dirty = true;
    renderValue(st, spec);
    if (!picked && (selected === null || byID(slot, selected) < 0)) selectStation(slot);
  }

  // onHistory merges stored values into the stations' series: each goes
  // in at its time, once (a value with the time and number of one shown
  // live, or merged before, is not added again). rows is null when the hub answered with an error.
  function onHistory(rows) {
    const body = document.body;
    if (!rows) {
      body.dataset.history = "none";
      return;
    }
    const now = Date.now();
    let merged = 0;
    const touched = new Set();
    for (const r of rows) {
      if (!r || typeof r.topic !== "string") continue;
      const m = KEY_RE.exec(r.topic);
      const data = r.payload;
      if (!m || data === null || typeof data !== "object") continue;
      const spec = KINDS.find((k) => k.kind === m[2]);
      const v = Number(data[spec.field]);
      if (!Number.isFinite(v)) continue;
      const ts = Number.isFinite(data.timestamp) && data.timestamp > 0 ? data.timestamp : Number(r.ts);
      if (!Number.isFinite(ts) || ts < now - WINDOW_MS) continue;
      const slot = m[1];
      const st = stations.get(slot) || addStation(slot);
      const series = st.series[spec.kind];
      if (series.some((p) => p.t === ts && p.v === v)) continue;
      series.push({ t: ts, v: v });
      st.lastSeen = Math.max(st.lastSeen, Math.min(now, ts));
      st.count++;
      touched.add(st.slot + " " + spec.kind);
      merged++;
    }
    for (const key of touched) {
      const [slot, kind] = key.split(" ");
      const st = stations.get(slot);
      const spec = KINDS.find((k) => k.kind === kind);
      const series = st.series[kind];
      series.sort((a, b) => a.t - b.t);
      if (series.length > 2000) series.splice(0, series.length - 2000);
      st.dirty = true;
      renderValue(st, spec);
    }
    body.dataset.history = String((Number(body.dataset.history) || 0) + merged); // values merged so far
    if (!picked && selected === null && stations.size) selectStation([...stations.keys()].sort(byID)[0]);
  }

  // byID orders station ids: slots by number, then device names.
  function byID(a, b) {
    const na = /^\d+$/.test(a);
    const nb = /^\d+$/.test(b);
    if (na && nb) return Number(a) - Number(b);
    if (na !== nb) return na ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function addStation(slot) {
    const st = {
      slot: slot,
      series: { temperature: [], humidity: [], dew_point: [] },
      lastSeen: 0,
      count: 0,
      dirty: true,
      metrics: {},
      nodes: new Map(),
    };
    const card = el("article", "card");
    card.dataset.slot = slot;
    card.tabIndex = 0;
    card.title = "Show station " + slot + "'s record graph";
    const pick = () => {
      picked = true;
      selectStation(slot);
    };
    card.addEventListener("click", pick);
    card.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        pick();
      }
    });

    const head = el("header", "card-head");
    const title = el("div", "card-title");
    title.append(el("span", "live-dot"), el("h2", "", "Station " + slot));
    const badge = el("span", "badge", /^\d+$/.test(slot) ? "slot " + slot : "device");
    title.append(badge);
    st.badge = badge;
    st.seen = el("span", "seen", "");
    head.append(title, st.seen);
    card.append(head);

    for (const spec of KINDS) {
      const row = el("div", "metric " + spec.kind);
      row.dataset.kind = spec.kind;
      row.dataset.field = spec.field;
      const left = el("div", "metric-text");
      const value = el("div", "metric-value");
      const num = el("span", "num", "–");
      value.append(num, el("span", "unit", spec.unit));
      left.append(el("div", "metric-label", spec.label), value);
      const spark = document.createElementNS(SVGNS, "svg");
      spark.setAttribute("class", "spark");
      spark.setAttribute("aria-hidden", "true");
      const right = el("div", "metric-chart");
      const range = el("div", "range", "");
      right.append(spark, range);
      row.append(left, right);
      card.append(row);
      st.metrics[spec.kind] = { num: num, spark: spark, range: range };
    }
    st.foot = el("footer", "card-foot", "");
    card.append(st.foot);
    st.card = card;

    // Keep the cards sorted by id.
    $("empty").hidden = true;
    const grid = $("stations");
    let before = $("graph-panel");
    for (const other of grid.querySelectorAll(".card")) {
      if (byID(other.dataset.slot, slot) > 0) {
        before = other;
        break;
      }
    }
    grid.insertBefore(card, before);
    stations.set(slot, st);
    markArrival(st);
    return st;
  }

  function renderValue(st, spec) {
    const s = st.series[spec.kind];
    st.metrics[spec.kind].num.textContent = s[s.length - 1].v.toFixed(1);
  }

  // interval returns the median gap between a station's readings, from
  // their timestamps, or 0 when there are not two yet.
  function interval(st) {
    const s = st.series.temperature.length >= 2 ? st.series.temperature : st.series.humidity;
    const gaps = [];
    for (let i = Math.max(1, s.length - 30); i < s.length; i++) {
      const g = s[i].t - s[i - 1].t;
      if (g > 0) gaps.push(g);
    }
    if (!gaps.length) return 0;
    gaps.sort((a, b) => a - b);
    return gaps[gaps.length >> 1];
  }

  function ago(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + "s ago";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s ago";
    return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m ago";
  }

  function fmtInterval(ms) {
    return ms >= 10000 ? Math.round(ms / 1000) + " s" : (ms / 1000).toFixed(1) + " s";
  }

  // tick refreshes ages, liveness and the summary once a second.
  function tick() {
    const now = Date.now();
    let live = 0;
    let stale = 0;
    for (const st of stations.values()) {
      const iv = interval(st);
      const limit = STALE_INTERVALS * (iv || UNKNOWN_INTERVAL_MS);
      const age = now - st.lastSeen;
      const isStale = age > Math.max(limit, 1500);
      st.card.classList.toggle("stale", isStale);
      st.card.dataset.stale = isStale ? "true" : "false";
      if (isStale) stale++;
      else live++;
      st.seen.textContent = (isStale ? "stale · last seen " : "last seen ") + ago(age);
      st.foot.textContent =
        (iv ? "every " + fmtInterval(iv) : "interval unknown") + " · " + st.count + " values";
    }
    while (arrivals.length && arrivals[0] < now - RATE_WINDOW_MS) arrivals.shift();
    const rate = (arrivals.length / (RATE_WINDOW_MS / 1000)).toFixed(1);
    $("stat-stations").textContent = stations.size;
    $("stat-live").textContent = live;
    $("stat-stale").textContent = stale;
    $("stat-stale").parentElement.classList.toggle("warn", stale > 0);
    $("stat-rate").textContent = rate;
    $("stat-lost").textContent = lost;
    $("stat-lost").parentElement.classList.toggle("warn", lost > 0);
    $("foot-rate").textContent = rate;
    $("foot-total").textContent = total;
    showRetry();
  }

  // ---- sparklines -------------------------------------------------------

  function drawSparks() {
    for (const st of stations.values()) {
      if (!st.dirty) continue;
      st.dirty = false;
      for (const spec of KINDS) drawSpark(st.metrics[spec.kind], st.series[spec.kind], spec);
    }
  }

  function drawSpark(m, s, spec) {
    const w = Math.max(40, Math.round(m.spark.clientWidth || 160));
    const h = Math.max(20, Math.round(m.spark.clientHeight || 40));
    const pad = 3;
    m.spark.setAttribute("viewBox", "0 0 " + w + " " + h);
    m.spark.dataset.points = String(s.length);
    m.spark.replaceChildren();
    if (!s.length) return;
    let lo = Infinity;
    let hi = -Infinity;
    for (const p of s) {
      lo = Math.min(lo, p.v);
      hi = Math.max(hi, p.v);
    }
    m.range.textContent = s.length > 1 ? lo.toFixed(1) + " – " + hi.toFixed(1) + " " + spec.unit : "collecting history…";
    // Never stretch noise across the whole height.
    const mid = (lo + hi) / 2;
    const span = Math.max(hi - lo, spec.span);
    const y0 = mid - span / 2;
    const t1 = s[s.length - 1].t;
    const t0 = Math.min(s[0].t, t1 - 1000);
    const x = (t) => pad + ((t - t0) / (t1 - t0)) * (w - 2 * pad);
    const y = (v) => h - pad - ((v - y0) / span) * (h - 2 * pad);
    let d = "";
    for (let i = 0; i < s.length; i++) {
      d += (i ? "L" : "M") + x(s[i].t).toFixed(1) + " " + y(s[i].v).toFixed(1);
    }
    const last = s[s.length - 1];
    if (s.length === 1) {
      m.spark.append(svg("line", { x1: pad, x2: w - pad, y1: y(last.v), y2: y(last.v), class: "spark-base" }));
    }
    if (s.length > 1) {
      const area = svg("path", {
        d: d + "L" + x(t1).toFixed(1) + " " + (h - pad) + "L" + x(s[0].t).toFixed(1) + " " + (h - pad) + "Z",
        class: "spark-area",
      });
      m.spark.append(area, svg("path", { d: d, class: "spark-line" }));
    }
    m.spark.append(svg("circle", { cx: x(last.t).toFixed(1), cy: y(last.v).toFixed(1), r: 2.8, class: "spark-dot" }));
  }

  // ---- record graph -----------------------------------------------------

  function onRecords(rows) {
    records.clear();
    for (const r of rows) if (r && r.record_key) records.set(r.record_key, r);
    for (const st of stations.values()) markArrival(st);
    drawGraph();
  }

  // markArrival marks a card by the link its readings arrive over: a
  // station the hub mirrors from a device on a serial line (a uart://
  // link) is marked UART.
  function markArrival(st) {
    let via = null;
    for (const kind of ["temperature", "humidity"]) {
      via = via || arrivalLink(records.get("station." + st.slot + "." + kind));
    }
    const uart = !!via && /^uart\d*$/.test(via.protocol);
    st.card.dataset.via = via ? via.protocol : "";
    st.badge.classList.toggle("badge-uart", uart);
    if (uart) {
      st.badge.textContent = "UART";
      st.badge.title = "arrives over a UART: " + via.address;
    }
  }

  // arrivalLink returns the inbound link of a record.list row that has
  // delivered the most values, or null when none has delivered any.
  function arrivalLink(row) {
    let best = null;
    for (const l of (row && row.links) || []) {
      if (l.direction === "in" && l.received > 0 && (!best || l.received > best.received)) best = l;
    }
    return best;
  }

  function selectStation(slot) {
    selected = slot;
    $("graph-panel").hidden = false;
    for (const st of stations.values()) st.card.classList.toggle("selected", st.slot === slot);
    drawGraph();
  }

  // origin returns a record's origin as {kind, protocol, address, inputs}.
  function origin(row) {
    const o = row && row.origin;
    if (typeof o === "string") return { kind: o };
    if (o && o.link) {
      // An instance fed by several links names the first as its origin;
      // show the one its values arrive over.
      const l = arrivalLink(row) || o.link;
      return { kind: "link", protocol: l.protocol, address: l.address };
    }
    if (o && o.transform_join) return { kind: "join", inputs: o.transform_join.inputs || [] };
    if (o && o.transform) return { kind: "transform", inputs: [o.transform.input] };
    return { kind: "unknown" };
  }

  // routedLink finds the wildcard link that feeds a passive record: a link
  // on a record of the same entity whose topic filter matches the key's
  // topic (station.1.temperature ← mqtt://station/+/temperature). It
  // returns the link's origin and the row that holds it.
  function routedLink(key) {
    const entity = key.slice(key.lastIndexOf(".") + 1);
    const topicOf = key.split(".");
    for (const [k, r] of records) {
      if (k === key || !k.endsWith("." + entity)) continue;
      const o = origin(r);
      if (o.kind !== "link") continue;
      const filter = o.address.replace(/^[a-z0-9+.-]+:\/\//i, "").split("/");
      if (matchFilter(filter, topicOf)) return { o: o, row: r };
    }
    return null;
  }

  function matchFilter(filter, topic) {
    for (let i = 0; i < filter.length; i++) {
      if (filter[i] === "#") return true;
      if (i >= topic.length) return false;
      if (filter[i] !== "+" && filter[i] !== topic[i]) return false;
    }
    return filter.length === topic.length;
  }

  function drawGraph() {
    const box = $("graph");
    if (selected === null || !records.size) return;
    const prefix = "station." + selected + ".";
    const keys = [...records.keys()].filter((k) => k.startsWith(prefix));
    $("graph-station").textContent = "· station " + selected;
    const st = stations.get(selected);
    if (st) st.nodes.clear();
    if (!keys.length) {
      box.replaceChildren(el("p", "muted", "No records for station " + selected + " in record.list."));
      return;
    }

    // Nodes: records, and the links and sources feeding them.
    const facts = new Map(); // link address -> its metadata
    const nodes = new Map(); // id -> {id, title, detail, kind, inputs, depth}
    for (const k of keys) {
      const r = records.get(k);
      const o = origin(r);
      const n = { id: k, title: k, detail: describe(r, o), kind: o.kind === "join" ? "join" : "record", inputs: [] };
      if (o.kind === "link" || o.kind === "passive") {
        const found = o.kind === "link" ? { o: o, row: r } : routedLink(k);
        if (found) {
          const l = found.o;
          const id = "link:" + k;
          const topicName = k.split(".").join("/");
          const meta = (found.row.links || []).find((x) => x.direction === "in" && x.address === l.address);
          facts.set(l.address, { meta: meta, routed: found.row.record_key !== k });
          const parts = [];
          if (l.address !== l.protocol + "://" + topicName) parts.push(topicName);
          if (meta && meta.state) parts.push(meta.state);
          nodes.set(id, {
            id: id,
            title: l.address,
            detail: parts.join(" · ") || "link",
            kind: "link",
            state: meta ? meta.state : "",
            inputs: [],
          });
          n.inputs.push(id);
        }
      } else if (o.inputs) {
        n.inputs = o.inputs.filter((i) => records.has(i));
      }
      nodes.set(k, n);
    }
    // Depth: links at 0, records one past their deepest input.
    const depth = (n, seen) => {
      if (n.depth !== undefined) return n.depth;
      if (seen.has(n.id)) return 0;
      seen.add(n.id);
      let d = n.kind === "link" ? 0 : 1;
      for (const i of n.inputs) {
        const m = nodes.get(i) || { id: i, kind: "record", inputs: [] };
        if (!nodes.has(i)) nodes.set(i, Object.assign(m, { title: i, detail: "" }));
        d = Math.max(d, depth(m, seen) + 1);
      }
      n.depth = d;
      return d;
    };
    for (const n of nodes.values()) depth(n, new Set());
    const cols = [];
    for (const n of nodes.values()) (cols[n.depth] = cols[n.depth] || []).push(n);

    const W = 820;
    const nodeW = 236;
    const nodeH = 46;
    const gapY = 26;
    const ncols = cols.length;
    const rowsMax = Math.max(...cols.map((c) => (c ? c.length : 0)));
    const H = rowsMax * nodeH + (rowsMax - 1) * gapY + 16;
    const colX = (i) => (ncols === 1 ? (W - nodeW) / 2 : 8 + (i * (W - nodeW - 16)) / (ncols - 1));
    for (let i = 0; i < ncols; i++) {
      const c = cols[i] || [];
      const height = c.length * nodeH + (c.length - 1) * gapY;
      c.forEach((n, j) => {
        n.x = colX(i);
        n.y = (H - height) / 2 + j * (nodeH + gapY);
      });
    }

    const g = svg("svg", { viewBox: "0 0 " + W + " " + H, class: "graph-svg", role: "img" });
    g.append(svg("title", {}, "Record graph of station " + selected));
    const defs = svg("defs", {});
    const marker = svg("marker", {
      id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse",
    });
    marker.append(svg("path", { d: "M0 0L10 5L0 10z", class: "arrow" }));
    defs.append(marker);
    g.append(defs);
    for (const n of nodes.values()) {
      for (const i of n.inputs) {
        const m = nodes.get(i);
        if (!m || m.x === undefined) continue;
        const x1 = m.x + nodeW;
        const y1 = m.y + nodeH / 2;
        const x2 = n.x - 2;
        const y2 = n.y + nodeH / 2;
        const cx = (x1 + x2) / 2;
        g.append(svg("path", {
          d: "M" + x1 + " " + y1 + "C" + cx + " " + y1 + " " + cx + " " + y2 + " " + x2 + " " + y2,
          class: "edge" + (m.kind === "link" ? " edge-link" : ""),
          "marker-end": "url(#arrow)",
        }));
      }
    }
    for (const n of nodes.values()) {
      if (n.x === undefined) continue;
      const kindClass = n.kind === "record" || n.kind === "join" ? " " + kindOf(n.id) : "";
      const stateClass = n.state ? " state-" + n.state : "";
      const grp = svg("g", { class: "node node-" + n.kind + kindClass + stateClass, transform: "translate(" + n.x + "," + n.y + ")" });
      grp.dataset.key = n.id;
      grp.append(svg("rect", { width: nodeW, height: nodeH, rx: 9 }));
      grp.append(svg("text", { x: 12, y: 19, class: "node-title" }, n.title));
      grp.append(svg("text", { x: 12, y: 35, class: "node-detail" }, n.detail));
      g.append(grp);
      if (st && n.kind !== "link") st.nodes.set(n.id, grp);
    }
    box.replaceChildren(g);

    const list = [];
    for (const n of nodes.values()) {
      if (n.kind === "join") {
        const short = n.inputs.map((i) => i.slice(i.lastIndexOf(".") + 1));
        list.push(fact("join", n.id + " ← " + short.join(" ⋈ "), "on every change of either input"));
      }
    }
    for (const [addr, f] of facts) {
      const m = f.meta;
      const stats = m
        ? [m.state, num(m.received) + " received", num(m.decode_errors) + " rejected"].join(" · ")
        : "";
      list.push(fact("link", addr, [stats, f.routed ? "(all slots)" : ""].filter(Boolean).join(" ")));
    }
    $("graph-facts").replaceChildren(...list);
  }

  function fact(tag, what, detail) {
    const li = el("li", "");
    li.append(el("span", "tag tag-" + tag, tag), el("code", "", what));
    if (detail) li.append(el("span", "muted", " " + detail));
    return li;
  }

  function num(n) {
    return typeof n === "number" ? n.toLocaleString("en-US") : "0";
  }

  function kindOf(key) {
    const m = KEY_RE.exec(key);
    return m ? "k-" + m[2] : "";
  }

  function describe(r, o) {
    const buf = r.buffer_type === "spmc_ring" ? "ring(" + (r.buffer_capacity || "?") + ")" : r.buffer_type || "";
    const what = { join: "join", transform: "transform", link: "link", passive: "routed in", source: "source" }[o.kind] || o.kind;
    const produced = typeof r.produced_count === "number" ? r.produced_count.toLocaleString("en-US") + " produced" : "";
    return [what, buf, produced].filter(Boolean).join(" · ");
  }

  function flash(node) {
    node.classList.remove("flash");
    void node.getBBox(); // restart the animation
    node.classList.add("flash");
  }

  // ---- helpers ------------------------------------------------------------

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  window.addEventListener("resize", () => {
    for (const st of stations.values()) st.dirty = true;
  });
  setInterval(tick, 1000);
  setInterval(drawSparks, 250);
  loadSchemas().then(connect);
  tick();
})();
