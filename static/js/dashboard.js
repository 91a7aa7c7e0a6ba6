// Invigilator's live view of one exam: student grid, alert feed and flag review.
// WebSocket pushes, plus a REST catch-up on every (re)connect so no flag is lost.
(function () {
  "use strict";
  const root = document.getElementById("dashboard");
  if (!root) return;
  const examId = root.dataset.exam;
  const flagsUrl = root.dataset.flagsUrl;
  const staleAfterMs = 1000 * Number(root.dataset.staleAfter || 20);
  const list = document.getElementById("alerts");
  const state = document.getElementById("live-state");
  const csrf = document.querySelector("[name=csrfmiddlewaretoken]").value;
  const seen = new Set(
    Array.from(list.querySelectorAll("[data-flag-id]")).map((li) => Number(li.dataset.flagId))
  );
  let retryDelay = 1000;

  function badge(el, text, cls) {
    el.textContent = text;
    el.className = "badge " + (cls || "");
  }

  // ---- student grid -------------------------------------------------------------------
  function card(sessionId) {
    return root.querySelector(`.student[data-session="${sessionId}"]`);
  }

  function showStatus(status) {
    const el = card(status.session);
    if (!el) return;
    el.dataset.lastSeen = status.at;
    const alone = status.face_count === 1;
    badge(el.querySelector("[data-status]"), "active", alone ? "ok" : "warn");
    el.querySelector("[data-faces]").textContent = status.face_count + " face(s)";
    el.querySelector("[data-expression]").textContent = status.expression || "";
  }

  function markDisconnected() {
    const now = Date.now();
    root.querySelectorAll(".student[data-last-seen]").forEach((el) => {
      const last = Date.parse(el.dataset.lastSeen);
      if (last && now - last > staleAfterMs) {
        badge(el.querySelector("[data-status]"), "disconnected", "bad");
      }
    });
  }

  function countOpen(sessionId, delta) {
    const el = card(sessionId);
    if (!el) return;
    const counter = el.querySelector("[data-open-flags]");
    const open = Math.max(0, Number(counter.dataset.openFlags) + delta);
    counter.dataset.openFlags = open;
    badge(counter, open + " open flag" + (open === 1 ? "" : "s"), open ? "warn" : "");
  }

  // ---- alert feed ---------------------------------------------------------------------
  function beep() {
    if (!document.getElementById("sound").checked) return;
    try {
      const audio = new AudioContext();
      const tone = audio.createOscillator();
      tone.frequency.value = 880;
      tone.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.15);
    } catch (error) {
      /* no audio device: the visual cue remains */
    }
  }

  function reviewControls(li) {
    const box = document.createElement("div");
    box.className = "review-box";
    const note = Object.assign(document.createElement("input"), {
      type: "text", placeholder: "note (required)", className: "note",
    });
    box.append(note);
    for (const [stateName, label] of [["confirmed", "Confirm"], ["dismissed", "Dismiss"],
                                       ["escalated", "Escalate"]]) {
      const button = Object.assign(document.createElement("button"), {
        type: "button", textContent: label, className: "small " + stateName,
      });
      button.addEventListener("click", () => review(li, stateName, note));
      box.append(button);
    }
    if (li.dataset.snapshot) {
      const link = Object.assign(document.createElement("a"), {
        href: li.dataset.snapshot, target: "_blank", textContent: "snapshot",
      });
      box.append(link);
    }
    li.append(box);
  }

  async function review(li, reviewState, note) {
    if (!note.value.trim()) {
      note.focus();
      note.classList.add("invalid");
      return;
    }
    const response = await fetch(`${flagsUrl}${li.dataset.flagId}/review/`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ state: reviewState, note: note.value }),
    });
    if (response.ok) showReviewed(await response.json());
  }

  function showReviewed(flag) {
    const li = list.querySelector(`[data-flag-id="${flag.id}"]`);
    if (!li || li.classList.contains("state-" + flag.review_state)) return;
    if (li.classList.contains("state-open")) countOpen(flag.session, -1);
    li.className = li.className.replace(/state-\w+/, "state-" + flag.review_state);
    badge(li.querySelector(".review"), flag.review_state, "");
    const box = li.querySelector(".review-box");
    if (box) box.remove();
  }

  function showFlag(flag, fresh) {
    if (seen.has(flag.id)) return;
    seen.add(flag.id);
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    const li = document.createElement("li");
    li.className = `sev-${flag.severity} state-${flag.review_state}` + (fresh ? " fresh" : "");
    li.dataset.flagId = flag.id;
    li.dataset.severity = flag.severity;
    li.dataset.session = flag.session;
    li.dataset.snapshot = flag.has_snapshot ? `${flagsUrl}${flag.id}/snapshot/` : "";
    const who = flag.student_number + (flag.student_name ? " " + flag.student_name : "");
    li.append(
      Object.assign(document.createElement("time"), {
        textContent: new Date(flag.raised_at).toLocaleTimeString(),
      }),
      Object.assign(document.createElement("strong"), { textContent: flag.kind_label }),
      " · " + who + (flag.message ? " — " + flag.message : "") + " ",
      Object.assign(document.createElement("span"), {
        className: "badge review", textContent: flag.review_state,
      })
    );
    if (flag.review_state === "open") {
      reviewControls(li);
      countOpen(flag.session, +1);
    }
    list.prepend(li);
    applyFilter();
    if (fresh) beep();
  }

  function applyFilter() {
    const minimum = Number(document.getElementById("severity-filter").value);
    list.querySelectorAll("[data-severity]").forEach((li) => {
      li.hidden = Number(li.dataset.severity) < minimum;
    });
  }

  async function catchUp() {
    const after = seen.size ? Math.max(...seen) : 0;
    const url = `${flagsUrl}?exam=${examId}&after_id=${after}&ordering=raised_at`;
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    (await response.json()).results.forEach((flag) => showFlag(flag, true));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/exams/${examId}/alerts/`);
    socket.onopen = () => {
      retryDelay = 1000;
      badge(state, "live", "ok");
      catchUp().catch(() => {});
    };
    socket.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (data.type === "flag") showFlag(data.flag, true);
      else if (data.type === "flag_reviewed") showReviewed(data.flag);
      else if (data.type === "status") showStatus(data.status);
    };
    socket.onclose = () => {
      badge(state, "reconnecting…", "warn");
      // Doubling up to 30 s, jittered so dashboards do not all return at once after a restart.
      setTimeout(connect, retryDelay * (0.8 + 0.4 * Math.random()));
      retryDelay = Math.min(retryDelay * 2, 30000);
    };
  }

  list.querySelectorAll("li.state-open").forEach(reviewControls);
  document.getElementById("severity-filter").addEventListener("change", applyFilter);
  setInterval(markDisconnected, 5000);
  markDisconnected();
  connect();
})();
