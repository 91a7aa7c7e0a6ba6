// Invigilator's live view of one exam: the student grid (sorted, searched, filtered), the
// alert feed grouped by student, flag review, and "look now". WebSocket pushes, plus a REST
// catch-up on every (re)connect so no flag is lost.

// The risk score exactly as invigilation/dashboard/risk.py computes it, with the weights the
// page carries (#risk-weights). Outside the page's guard so that it can be tested alone.
window.Risk = {
  flag(flag, weights) {
    return weights.severity[flag.severity] * flag.confidence * weights.review[flag.review_state];
  },
  score(flags, weights) {
    let total = 0;
    for (const flag of flags) total += window.Risk.flag(flag, weights);
    return total;
  },
  // One decimal, halves up: the same string as risk.py `shown`.
  shown(score) {
    return (Math.round(score * 10) / 10).toFixed(1);
  },
  band(score, weights) {
    if (score >= weights.bands.high) return "high";
    if (score >= weights.bands.medium) return "medium";
    return score > 0 ? "low" : "none";
  },
};

(function () {
  "use strict";
  const root = document.getElementById("dashboard");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const examId = root.dataset.exam;
  const flagsUrl = root.dataset.flagsUrl;
  const sessionsUrl = root.dataset.sessionsUrl;
  const staleAfterMs = 1000 * Number(root.dataset.staleAfter || 20);
  // Ages are measured on the server's clock at render, so a skewed browser clock cannot
  // mark students disconnected.
  const renderedAt = Date.parse(root.dataset.renderedAt);
  const loadedAt = Date.now();
  const weights = JSON.parse($("risk-weights").textContent);
  const grid = $("students");
  const feed = $("alerts");
  const empty = feed.querySelector(".empty");
  const csrf = document.querySelector("[name=csrfmiddlewaretoken]").value;
  const controls = {
    search: $("student-search"), status: $("status-filter"), openOnly: $("open-only"),
    sort: $("student-sort"), severity: $("severity-filter"), review: $("review-filter"),
    sound: $("sound"),
  };
  const STATUS_LABEL = {
    waiting: "waiting", checked_in: "checked in", active: "active",
    disconnected: "disconnected", finished: "finished",
  };
  const STATUS_TONE = { active: "ok", disconnected: "bad" };
  const STATUS_ORDER = ["disconnected", "active", "checked_in", "waiting", "finished"];
  const IDENTITY_LABEL = {
    verified: "verified", not_verified: "not verified",
    no_reference: "no photo: not checked", not_checked: "identity not checked",
  };
  const IDENTITY_TONE = { verified: "ok", not_verified: "bad", no_reference: "warn" };
  const SEVERITY_LABEL = { 1: "low", 2: "medium", 3: "high" };
  const cards = new Map(); // session id -> card
  const flags = new Map(); // flag id -> record
  const groups = new Map(); // session id -> the student's alert group
  let lastFlagId = 0;
  let current = null; // the selected alert's record
  let retryDelay = 1000;
  let everConnected = false;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Writes only what changed: 200 students at 1 frame/s must not relayout the page each time.
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function setTone(node, tone) {
    for (const name of ["ok", "warn", "bad"]) node.classList.toggle(name, name === tone);
  }

  // ---- student grid ------------------------------------------------------------------
  function readCard(node) {
    const lastSeen = Date.parse(node.dataset.lastSeen);
    return {
      el: node,
      id: Number(node.dataset.session),
      name: node.dataset.name,
      number: node.dataset.number,
      key: (node.dataset.name + " " + node.dataset.number).toLowerCase(),
      state: node.dataset.state,
      identity: node.dataset.identity,
      risk: Number(node.dataset.risk),
      open: Number(node.dataset.open),
      seenAt: lastSeen ? loadedAt - (renderedAt - lastSeen) : 0,
      status: node.querySelector("[data-status]"),
      identityBadge: node.querySelector(".identity"),
      riskText: node.querySelector(".risk"),
      openBadge: node.querySelector(".open-flags"),
      faces: node.querySelector(".faces"),
      expression: node.querySelector(".expression"),
      checkedIn: node.querySelector(".checked-in"),
      finished: node.querySelector(".finished"),
      referenceBox: node.querySelector(".reference-pending"),
    };
  }

  // ---- a reference photo taken at check-in (self-enrolment), awaiting approval --------
  function setPhoto(card, url) {
    card.el.dataset.photo = url || "";
    const old = card.el.querySelector(":scope > img, :scope > .no-photo");
    let node;
    if (url) {
      node = el("img");
      Object.assign(node, { src: url, alt: "", width: 56, height: 56 });
    } else node = el("div", "no-photo", "no photo");
    if (old) old.replaceWith(node);
    else card.el.prepend(node);
  }

  function showUnconfirmed(card, unconfirmed) {
    if (card.referenceBox) card.referenceBox.hidden = !unconfirmed;
  }

  function setState(card, state) {
    if (card.state === state) return;
    card.state = card.el.dataset.state = state;
    setText(card.status, STATUS_LABEL[state]);
    setTone(card.status, STATUS_TONE[state]);
    gridChanged();
  }

  function identityOf(verified, hasReference) {
    // As invigilation/dashboard/selectors.py `identity`: no photo, nothing compared.
    if (verified === false) return "not_verified";
    if (!hasReference) return "no_reference";
    return verified ? "verified" : "not_checked";
  }

  function showStatus(status) {
    const card = cards.get(status.session);
    if (!card) return;
    card.seenAt = Date.now();
    if (card.state !== "finished") {
      setState(card, "active");
      setTone(card.status, status.face_count === 1 ? "ok" : "warn");
    }
    setText(card.faces, status.face_count + (status.face_count === 1 ? " face" : " faces"));
    setText(card.expression, status.expression || "");
  }

  function showCheckIn(checkIn) {
    const card = cards.get(checkIn.session);
    if (!card) return;
    const identity = identityOf(checkIn.verified, checkIn.has_reference);
    card.identity = card.el.dataset.identity = identity;
    card.identityBadge.hidden = false;
    setText(card.identityBadge, IDENTITY_LABEL[identity]);
    setTone(card.identityBadge, IDENTITY_TONE[identity]);
    setText(card.checkedIn, "· in " + Clock.time(checkIn.checked_in_at));
    // Self-enrolment: the check-in's photo became the student's (unconfirmed) reference.
    if (checkIn.reference_photo_url) setPhoto(card, checkIn.reference_photo_url);
    if (checkIn.reference_unconfirmed !== undefined) showUnconfirmed(card, checkIn.reference_unconfirmed);
    if (card.state === "waiting") setState(card, "checked_in");
    gridChanged();
  }

  function showReference(reference) {
    // An invigilator approved (the photo stays) or rejected (no photo) a self-enrolled one.
    const card = cards.get(reference.session);
    if (!card) return;
    setPhoto(card, reference.photo_url);
    showUnconfirmed(card, reference.unconfirmed);
  }

  function showFinished(session) {
    const card = cards.get(session.session);
    if (!card) return;
    setState(card, "finished");
    setText(card.finished, "· finished " + Clock.time(session.finished_at));
  }

  function markDisconnected() {
    const now = Date.now();
    for (const card of cards.values()) {
      if (card.state === "active" && now - card.seenAt > staleAfterMs) {
        setState(card, "disconnected");
      }
    }
  }

  function refreshRisk(sessionId) {
    const card = cards.get(sessionId);
    if (!card) return;
    const records = groups.has(sessionId) ? groups.get(sessionId).records : [];
    const risk = window.Risk.score(records, weights);
    const open = records.filter((record) => record.review_state === "open").length;
    if (risk === card.risk && open === card.open) return;
    card.risk = risk;
    card.open = open;
    card.el.dataset.risk = risk;
    card.el.dataset.open = open;
    for (const band of ["high", "medium", "low", "none"]) {
      card.el.classList.toggle("risk-" + band, band === window.Risk.band(risk, weights));
    }
    setText(card.riskText, window.Risk.shown(risk));
    setText(card.openBadge, open + " open flag" + (open === 1 ? "" : "s"));
    setTone(card.openBadge, open ? "warn" : "");
    gridChanged();
  }

  const byNumber = (a, b) => (a.number < b.number ? -1 : a.number > b.number ? 1 : 0);
  const ORDER = {
    risk: (a, b) => b.risk - a.risk || byNumber(a, b),
    name: (a, b) => a.name.localeCompare(b.name) || byNumber(a, b),
    number: byNumber,
    status: (a, b) =>
      STATUS_ORDER.indexOf(a.state) - STATUS_ORDER.indexOf(b.state) || b.risk - a.risk ||
      byNumber(a, b),
  };

  function shows(card, query, status, openOnly) {
    if (query && !card.key.includes(query)) return false;
    if (openOnly && !card.open) return false;
    if (status === "not_verified") return card.identity === "not_verified";
    return !status || card.state === status;
  }

  function applyGrid() {
    const query = controls.search.value.trim().toLowerCase();
    const counts = { not_verified: 0, open: 0 };
    let shown = 0;
    const list = Array.from(cards.values());
    for (const card of list) {
      counts[card.state] = (counts[card.state] || 0) + 1;
      if (card.identity === "not_verified") counts.not_verified += 1;
      if (card.open) counts.open += 1;
      const visible = shows(card, query, controls.status.value, controls.openOnly.checked);
      if (card.el.hidden === visible) card.el.hidden = !visible;
      if (visible) shown += 1;
    }
    list.sort(ORDER[controls.sort.value]);
    // Move only the cards out of place: a card that rose moves alone, not all 200.
    let next = grid.firstElementChild;
    for (const card of list) {
      if (card.el === next) next = next.nextElementSibling;
      else grid.insertBefore(card.el, next);
    }
    const parts = STATUS_ORDER.map((state) => `${counts[state] || 0} ${STATUS_LABEL[state]}`);
    parts.push(`${counts.not_verified} not verified`, `${counts.open} with open flags`);
    setText($("grid-summary"), `${shown} of ${cards.size} shown · ` + parts.join(" · "));
  }

  // Many updates in one frame (a burst of statuses, a catch-up) sort and filter once.
  let gridDirty = false;
  let framePending = false;
  function gridChanged() {
    gridDirty = true;
    if (framePending) return;
    framePending = true;
    requestAnimationFrame(() => {
      framePending = false;
      if (gridDirty) applyGrid();
      gridDirty = false;
      summariseAlerts();
    });
  }

  function showCard(sessionId) {
    const card = cards.get(sessionId);
    if (!card) return;
    if (card.el.hidden) {
      controls.search.value = controls.status.value = "";
      controls.openOnly.checked = false;
      applyGrid();
    }
    card.el.scrollIntoView({ block: "center" });
    flash(card.el);
  }

  // An animation, not a class toggled: restarting a CSS animation forces a relayout.
  function flash(node) {
    node.animate([{ boxShadow: "0 0 0 3px #f2c94c" }, { boxShadow: "0 0 0 0 transparent" }], 1500);
  }

  // ---- alert feed ----------------------------------------------------------------------
  function newGroup(flag) {
    const section = el("section", "group");
    const header = el("header");
    // A room camera's or the kiosk's alert about no enrolled student has no session: "the room".
    const room = flag.session == null;
    const who = el(room ? "strong" : "button", room ? "who-room" : "who link",
                   room ? "The room" : flag.student_name || flag.student_number);
    if (!room) {
      section.dataset.session = flag.session;
      who.type = "button";
      who.title = "show the student's card";
    }
    const more = el("button", "more link");
    more.type = "button";
    header.append(who, " ", el("span", "meta", flag.student_number || ""), " ",
                  el("span", "badge count"), " ", more);
    const group = { el: section, list: el("ul"), count: header.querySelector(".count"), more, records: [], room };
    section.append(header, group.list);
    groups.set(flag.session, group);
    return group;
  }

  function matches(record) {
    if (record.severity < Number(controls.severity.value)) return false;
    const review = controls.review.value;
    if (review === "open") return record.review_state === "open";
    return review === "all" || record.review_state !== "open";
  }

  function refreshGroup(group) {
    const shown = group.records.filter((record) => !record.li.hidden).length;
    group.shown = shown;
    group.el.hidden = shown === 0;
    setText(group.count, String(shown));
    group.more.hidden = shown < 2;
    setText(group.more, group.el.classList.contains("open") ? "show less" : `show all ${shown}`);
  }

  function applyAlertFilter() {
    for (const record of flags.values()) record.li.hidden = !matches(record);
    for (const group of groups.values()) refreshGroup(group);
    if (current && current.li.hidden) select(null);
    summariseAlerts();
  }

  function summariseAlerts() {
    let alerts = 0;
    let students = 0;
    for (const group of groups.values()) {
      alerts += group.shown || 0;
      if (group.shown && !group.room) students += 1;
    }
    const text = alerts
      ? `${alerts} alert${alerts === 1 ? "" : "s"} from ${students} student${students === 1 ? "" : "s"}`
      : "no alerts match these filters";
    setText($("alert-summary"), text);
  }

  function applyEvidence(li, evidence) {
    // As Flag.identity_distance (invigilation/proctoring/models.py): older flags kept only the
    // frame's distance.
    const frame = evidence.frame || {};
    const distance = evidence.distance ?? frame.identity_distance;
    if (distance != null) li.dataset.distance = distance;
    if (evidence.p_impostor != null) li.dataset.pImpostor = evidence.p_impostor;
  }

  function rowFor(flag, fresh) {
    const li = el("li", `sev-${flag.severity} state-${flag.review_state}` + (fresh ? " fresh" : ""));
    Object.assign(li.dataset, { flagId: flag.id, kind: flag.kind, snapshot: flag.has_snapshot ? "1" : "" });
    if (flag.evidence) applyEvidence(li, flag.evidence);
    const time = el("time", "", Clock.time(flag.raised_at));
    time.dateTime = flag.raised_at;
    const line = el("div", "line");
    line.append(time, " ", el("strong", "", flag.kind_label), " ",
                el("span", "what", flag.message || ""), " ",
                el("span", "badge review", flag.review_state));
    li.append(line);
    return li;
  }

  // Lays out a flag not seen yet, newest first; the caller refreshes counts and scores.
  function addFlag(flag, fresh) {
    if (flags.has(flag.id)) return null;
    if (empty.isConnected) empty.remove();
    const group = groups.get(flag.session) || newGroup(flag);
    const record = {
      id: flag.id, session: flag.session, kind: flag.kind, severity: flag.severity,
      confidence: flag.confidence, review_state: flag.review_state, li: rowFor(flag, fresh),
      evidence: flag.evidence || {},
    };
    record.li.hidden = !matches(record);
    group.records.unshift(record);
    group.list.prepend(record.li);
    flags.set(flag.id, record);
    lastFlagId = Math.max(lastFlagId, flag.id);
    feed.prepend(group.el); // the student with the newest alert first
    return record;
  }

  // A pushed or caught-up flag; true when it shows under the current filters.
  function showFlag(flag, fresh) {
    const record = addFlag(flag, fresh);
    if (!record) return false;
    const group = groups.get(flag.session);
    refreshGroup(group);
    refreshRisk(flag.session);
    if (fresh && !record.li.hidden) flash(group.el);
    return !record.li.hidden;
  }

  function showReviewed(flag) {
    const record = flags.get(flag.id);
    if (!record || record.review_state === flag.review_state) return;
    record.review_state = flag.review_state;
    record.li.className = record.li.className.replace(/state-\w+/, "state-" + flag.review_state);
    setText(record.li.querySelector(".review"), flag.review_state);
    record.li.hidden = !matches(record);
    refreshGroup(groups.get(record.session));
    refreshRisk(record.session);
    if (current === record && record.li.hidden) select(null);
    gridChanged();
  }

  // One tone at most a second, from one audio context: a burst of alerts is one cue, and
  // a context per tone costs milliseconds (browsers also cap how many may exist).
  let audio = null;
  let lastBeep = 0;
  function beep() {
    if (!controls.sound.checked || Date.now() - lastBeep < 1000) return;
    lastBeep = Date.now();
    try {
      audio = audio || new AudioContext();
      const tone = audio.createOscillator();
      tone.frequency.value = 880;
      tone.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.15);
    } catch (error) {
      /* no audio device: the visual cue remains */
    }
  }

  // ---- the selected alert: evidence and review -----------------------------------------
  // The rows the feed shows, in order: a collapsed group shows its newest matching alert.
  function displayedRows() {
    const rows = [];
    for (const group of feed.querySelectorAll(".group:not([hidden])")) {
      const shown = Array.from(group.querySelectorAll("li:not([hidden])"));
      const open = group.classList.contains("open");
      rows.push(...shown.filter((li, i) => open || i === 0 || li.classList.contains("current")));
    }
    return rows;
  }

  function select(record) {
    if (current) {
      current.li.classList.remove("current");
      const box = current.li.querySelector(".detail");
      if (box) box.remove();
    }
    current = record;
    if (!record) return;
    record.li.classList.add("current");
    record.li.append(detail(record));
    scrollFeedTo(record.li);
  }

  // Within the feed only: scrollIntoView would scroll the page under the sticky feed too.
  function scrollFeedTo(node) {
    const view = feed.getBoundingClientRect();
    const row = node.getBoundingClientRect();
    if (row.top < view.top) feed.scrollTop -= view.top - row.top;
    else if (row.bottom > view.bottom) {
      feed.scrollTop += Math.min(row.bottom - view.bottom, row.top - view.top);
    }
  }

  function move(step) {
    const rows = displayedRows();
    if (!rows.length) return;
    const index = current ? rows.indexOf(current.li) : -1;
    const next = rows[Math.max(0, Math.min(rows.length - 1, index + step))];
    select(flags.get(Number(next.dataset.flagId)));
  }

  function figure(src, caption) {
    const box = el("figure");
    const link = el("a");
    link.href = src;
    link.target = "_blank";
    const image = el("img");
    image.src = src;
    image.alt = caption;
    link.append(image);
    box.append(link, el("figcaption", "meta", caption));
    return box;
  }

  function identityText(li) {
    const distance = li.dataset.distance;
    const pImpostor = li.dataset.pImpostor;
    const parts = [distance ? `distance ${Number(distance).toFixed(2)}` : "distance not recorded"];
    parts.push(pImpostor
      ? `probability it is not the student: ${Math.round(100 * Number(pImpostor))}%`
      : "probability not computed");
    return parts.join(" · ");
  }

  function distanceText(evidence) {
    const parts = [];
    if (evidence.enrolment_distance != null) {
      parts.push(`to the enrolment photo ${Number(evidence.enrolment_distance).toFixed(2)}`);
    }
    if (evidence.anchor_distance != null) {
      parts.push(`to the face verified at check-in ${Number(evidence.anchor_distance).toFixed(2)}`);
    }
    return parts.length ? "distance " + parts.join(" · ") : "";
  }

  function identityEvidence(record) {
    const li = record.li;
    const evidence = record.evidence || {};
    const card = cards.get(record.session);
    const match = evidence.matches;
    const box = el("div");
    // The face is another student's of this exam: someone sitting for the student?
    if (match) {
      const distance = match.distance != null ? ` (distance ${Number(match.distance).toFixed(2)})` : "";
      box.append(el("p", "matches",
        `The face matches ${match.student_number} ${match.name || ""}, who is enrolled in this exam${distance}.`));
    }
    const compare = el("div", match ? "compare three" : "compare");
    const who = card ? card.name : "the student";
    compare.append(card && card.el.dataset.photo
      ? figure(card.el.dataset.photo, `enrolment photo: ${who}`)
      : el("p", "meta", "no enrolment photo to compare with"));
    if (match) {
      const other = cards.get(Number(match.session));
      compare.append(other && other.el.dataset.photo
        ? figure(other.el.dataset.photo, `enrolment photo: ${match.name || match.student_number}`)
        : el("p", "meta", `no enrolment photo of ${match.student_number}`));
    }
    compare.append(li.dataset.snapshot
      ? figure(`${flagsUrl}${record.id}/snapshot/`, "at the alert")
      : el("p", "meta", "no snapshot"));
    box.append(compare, el("p", "identity-numbers", identityText(li)));
    const more = distanceText(evidence);
    if (more) box.append(el("p", "meta", more));
    return box;
  }

  function detail(record) {
    const li = record.li;
    const box = el("div", "detail");
    const message = li.querySelector(".what").textContent;
    box.append(el("div", "meta",
      `${SEVERITY_LABEL[record.severity]} severity · confidence ${record.confidence.toFixed(2)}` +
      (message ? " · " + message : "")));
    if (record.kind === "identity_mismatch") box.append(identityEvidence(record));
    else if (record.kind === "liveness_failed" && record.evidence.phase) {
      box.append(el("p", "meta", record.evidence.phase === "check_in"
        ? "at check-in: no live face (a photo or a screen held up?)"
        : "during the exam: no live face (a photo or a screen held up?)"));
    }
    if (record.kind !== "identity_mismatch" && li.dataset.snapshot) {
      box.append(figure(`${flagsUrl}${record.id}/snapshot/`, "snapshot at the alert"));
    }
    const review = el("div", "review-box");
    const note = el("input", "note");
    Object.assign(note, { type: "text", placeholder: "note (required)" });
    note.setAttribute("aria-label", "review note");
    review.append(note);
    for (const [state, label] of [["confirmed", "Confirm (c)"], ["dismissed", "Dismiss (d)"],
                                  ["escalated", "Escalate (e)"]]) {
      const button = el("button", "small " + state, label);
      button.type = "button";
      button.dataset.review = state;
      review.append(button);
    }
    review.append(el("span", "outcome meta"));
    box.append(review);
    return box;
  }

  async function review(record, state) {
    const note = record.li.querySelector(".note");
    if (!note.value.trim()) {
      note.focus();
      note.classList.add("invalid");
      return;
    }
    // Where the next alert is, taken before the push of this review can hide the row.
    const before = displayedRows();
    const response = await fetch(`${flagsUrl}${record.id}/review/`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ state, note: note.value }),
    });
    if (!response.ok) {
      const reason = await response.json().catch(() => ({}));
      setText(record.li.querySelector(".outcome"), "not saved: " + (reason.detail || response.status));
      return;
    }
    showReviewed(await response.json());
    // Then on to the next alert, as in the review queue.
    const after = displayedRows();
    const next = before.slice(before.indexOf(record.li) + 1).find((li) => after.includes(li)) ||
      after[after.length - 1];
    select(next ? flags.get(Number(next.dataset.flagId)) : null);
  }

  // ---- look now ------------------------------------------------------------------------
  const look = { dialog: $("look-now"), card: null, timer: null, objectUrl: null };
  look.image = look.dialog.querySelector("img");
  look.status = look.dialog.querySelector("p");

  function openLook(card) {
    closeLook();
    look.card = card;
    setText($("look-now-title"), `${card.name} (${card.number}): latest frame`);
    look.status.textContent = "loading…";
    look.dialog.show();
    refreshLook();
  }

  async function refreshLook() {
    const card = look.card;
    let text;
    try {
      const response = await fetch(card.el.dataset.look, { credentials: "same-origin", cache: "no-store" });
      const type = response.headers.get("Content-Type") || "";
      if (response.ok) {
        const blob = await response.blob();
        if (look.card !== card) return;
        if (look.objectUrl) URL.revokeObjectURL(look.objectUrl);
        look.objectUrl = URL.createObjectURL(blob);
        look.image.src = look.objectUrl;
        look.image.hidden = false;
        text = "frame received " + Clock.time(response.headers.get("Last-Modified")) +
          " · refreshed every 2 s while open";
      } else {
        look.image.hidden = true;
        text = type.startsWith("text/plain") ? await response.text() : `not available (${response.status})`;
      }
    } catch (error) {
      text = "the server could not be reached";
    }
    if (look.card !== card) return;
    look.status.textContent = text;
    look.timer = setTimeout(refreshLook, 2000);
  }

  function closeLook() {
    look.card = null;
    clearTimeout(look.timer);
    if (look.dialog.open) look.dialog.close();
    look.image.hidden = true;
    look.image.removeAttribute("src");
    if (look.objectUrl) URL.revokeObjectURL(look.objectUrl);
    look.objectUrl = null;
  }

  // ---- approving a reference photo taken at check-in -----------------------------------
  const reference = { dialog: $("reference-review"), card: null };
  reference.image = reference.dialog.querySelector("img");
  reference.note = reference.dialog.querySelector(".note");
  reference.outcome = reference.dialog.querySelector(".outcome");

  function openReference(card) {
    reference.card = card;
    setText($("reference-review-title"), `${card.name} (${card.number}): reference photo`);
    reference.image.src = card.el.dataset.photo;
    reference.note.value = "";
    reference.note.classList.remove("invalid");
    reference.outcome.textContent = "";
    reference.dialog.show();
  }

  async function decideReference(decision) {
    const card = reference.card;
    if (!card) return;
    if (decision === "reject" && !reference.note.value.trim()) {
      reference.note.classList.add("invalid");
      reference.note.focus();
      return;
    }
    const body = new URLSearchParams({ decision, note: reference.note.value });
    let response;
    try {
      response = await fetch(card.el.dataset.reference, {
        method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf }, body,
      });
    } catch (error) {
      reference.outcome.textContent = "not saved: the server could not be reached";
      return;
    }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      reference.outcome.textContent = "not saved: " + (answer.detail || response.status);
      return;
    }
    showUnconfirmed(card, false);
    if (decision === "reject") {
      setPhoto(card, "");
      card.identityBadge.hidden = false;
      setText(card.identityBadge, "photo rejected: not checked");
      setTone(card.identityBadge, "bad");
    }
    reference.dialog.close();
    reference.card = null;
    flash(card.el);
  }

  // ---- live connection -----------------------------------------------------------------
  async function pages(url, each) {
    while (url) {
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) return;
      const page = await response.json();
      page.results.forEach(each);
      url = page.next;
    }
  }

  async function catchUp() {
    let shown = false;
    await pages(`${flagsUrl}?exam=${examId}&after_id=${lastFlagId}&ordering=raised_at`, (flag) => {
      shown = showFlag(flag, true) || shown;
    });
    if (shown) beep();
  }

  // After a reconnect: the check-ins and finishes pushed while the socket was down.
  function catchUpSessions() {
    return pages(`${sessionsUrl}?exam=${examId}`, (session) => {
      const card = cards.get(session.id);
      if (!card) return;
      const attendance = session.attendance;
      if (attendance) {
        const reference = session.reference;
        showCheckIn({
          session: session.id, checked_in_at: attendance.checked_in_at,
          verified: attendance.verified,
          has_reference: reference !== undefined ? Boolean(reference) : Boolean(card.el.dataset.photo),
          reference_photo_url: reference ? reference.photo_url : undefined,
          reference_unconfirmed: reference ? !reference.confirmed : undefined,
        });
      }
      if (session.status === "finished") showFinished({ session: session.id, finished_at: session.finished_at });
    });
  }

  function handle(message) {
    if (message.type === "flag") {
      if (showFlag(message.flag, true)) beep();
    } else if (message.type === "flag_reviewed") showReviewed(message.flag);
    else if (message.type === "status") showStatus(message.status);
    else if (message.type === "check_in") showCheckIn(message.check_in);
    else if (message.type === "finished") showFinished(message.session);
    else if (message.type === "reference") showReference(message.reference);
  }

  function connect() {
    const liveState = $("live-state");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/exams/${examId}/alerts/`);
    socket.onopen = () => {
      retryDelay = 1000;
      setText(liveState, "live");
      setTone(liveState, "ok");
      catchUp().catch(() => {});
      if (everConnected) catchUpSessions().catch(() => {});
      else performance.mark("dashboard-live");
      everConnected = true;
    };
    socket.onmessage = (event) => handle(JSON.parse(event.data));
    socket.onclose = () => {
      setText(liveState, "reconnecting…");
      setTone(liveState, "warn");
      // Doubling up to 30 s, jittered so dashboards do not all return at once after a restart.
      setTimeout(connect, retryDelay * (0.8 + 0.4 * Math.random()));
      retryDelay = Math.min(retryDelay * 2, 30000);
    };
  }

  // ---- controls ------------------------------------------------------------------------
  function bind() {
    controls.search.addEventListener("input", gridChanged);
    for (const name of ["status", "openOnly", "sort"]) {
      controls[name].addEventListener("change", gridChanged);
    }
    controls.severity.addEventListener("change", applyAlertFilter);
    controls.review.addEventListener("change", applyAlertFilter);

    grid.addEventListener("click", (event) => {
      const node = event.target.closest(".student");
      if (!node) return;
      const card = cards.get(Number(node.dataset.session));
      if (event.target.closest(".look-now")) openLook(card);
      else if (event.target.closest(".review-reference")) openReference(card);
      else if (event.target.closest(".open-flags")) showGroup(card.id);
    });

    feed.addEventListener("click", (event) => {
      const section = event.target.closest(".group");
      if (!section) return;
      const group = groups.get(Number(section.dataset.session));
      const button = event.target.closest("button[data-review]");
      if (button) review(current, button.dataset.review);
      else if (event.target.closest(".more")) {
        section.classList.toggle("open");
        refreshGroup(group);
      } else if (event.target.closest(".who")) showCard(Number(section.dataset.session));
      else if (!event.target.closest(".detail")) {
        const li = event.target.closest("li[data-flag-id]");
        if (li) select(flags.get(Number(li.dataset.flagId)));
      }
    });

    look.dialog.querySelector(".close").addEventListener("click", closeLook);
    reference.dialog.querySelector(".close").addEventListener("click", () => reference.dialog.close());
    reference.dialog.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-decision]");
      if (button) decideReference(button.dataset.decision);
    });

    document.addEventListener("keydown", (event) => {
      const target = event.target;
      if (target.closest("#reference-review")) return;
      if (target.classList.contains("note")) {
        if (event.key === "Escape" || event.key === "Enter") target.blur();
        return;
      }
      if (target.closest("input, select, textarea") || event.ctrlKey || event.metaKey || event.altKey) {
        return;
      }
      const actions = { c: "confirmed", d: "dismissed", e: "escalated" };
      if (event.key === "j") move(+1);
      else if (event.key === "k") move(-1);
      else if (event.key === "/") {
        event.preventDefault();
        controls.search.focus();
      } else if (event.key === "n" && current) {
        event.preventDefault();
        current.li.querySelector(".note").focus();
      } else if (actions[event.key] && current) review(current, actions[event.key]);
      else if (event.key === "Escape") {
        if (look.card) closeLook();
        else select(null);
      }
    });
  }

  function showGroup(sessionId) {
    const group = groups.get(sessionId);
    if (!group) return;
    if (group.el.hidden) {
      controls.review.value = "all";
      controls.severity.value = "1";
      applyAlertFilter();
    }
    group.el.classList.add("open");
    refreshGroup(group);
    scrollFeedTo(group.el);
    flash(group.el);
  }

  grid.querySelectorAll(".student").forEach((node) => {
    const card = readCard(node);
    cards.set(card.id, card);
  });
  // The page's flags come newest first, as data: laid out here as pushed ones are.
  JSON.parse($("alerts-data").textContent).reverse().forEach((flag) => addFlag(flag, false));
  bind();
  applyGrid();
  applyAlertFilter();
  markDisconnected();
  setInterval(markDisconnected, 5000);
  performance.mark("dashboard-ready");
  connect();
})();
