// The room page (templates/dashboard/room.html): a camera's latest frame only when asked (it is
// a picture of the room), and every 10 s the counts, roster, seat plan, camera readings and
// alerts from room.json (dashboard/room.py room_state), never the frames themselves.
(function () {
  "use strict";
  const page = document.getElementById("room-page");
  if (!page) return;
  const REFRESH_MS = 10000;

  function text(selector, value) {
    const node = page.querySelector(selector);
    if (node) node.textContent = value;
  }

  function showFrame(button) {
    const card = button.closest(".room-camera-card");
    const image = card.querySelector(".room-frame");
    const error = card.querySelector(".frame-error");
    // A fresh URL each press: the view is drawn now and never cached.
    const src = button.dataset.src + "?at=" + Date.now();
    fetch(src, { credentials: "same-origin" }).then((response) => {
      if (!response.ok) return response.text().then((message) => { throw new Error(message); });
      return response.blob();
    }).then((blob) => {
      if (image.src.startsWith("blob:")) URL.revokeObjectURL(image.src);
      image.src = URL.createObjectURL(blob);
      image.hidden = false;
      error.hidden = true;
      button.textContent = "Show latest frame again";
    }).catch((problem) => {
      error.textContent = problem.message || "The frame could not be loaded.";
      error.hidden = false;
    });
  }

  function cameraStatus(camera) {
    if (!camera.analysed_at) return "no frame in the last 2 minutes";
    const f = camera.faces;
    return `last frame analysed ${Clock.time(camera.analysed_at)} · faces: ${f.identified} identified, ` +
      `${f.unknown} unknown, ${f.ambiguous} ambiguous, ${f.too_small} too small`;
  }

  function cell(value, className) {
    const td = document.createElement("td");
    td.textContent = value;
    if (className) td.className = className;
    return td;
  }

  function rosterRow(entry) {
    const row = document.createElement("tr");
    row.dataset.number = entry.number;
    row.className = "state-" + entry.state;
    const seat = entry.seat ? entry.seat + (entry.seat_assigned ? " (assigned)" : "") : "—";
    const seen = entry.first_seen_at
      ? `${Clock.time(entry.first_seen_at)}–${Clock.time(entry.last_seen_at)}` : "never";
    const badge = document.createElement("span");
    badge.className = "state badge state-" + entry.state;
    badge.textContent = entry.state_label;
    const state = document.createElement("td");
    state.append(badge);
    row.append(cell(entry.number), cell(entry.name), cell(seat, "seat"),
      cell(entry.checked_in_at ? Clock.time(entry.checked_in_at) : "not checked in", "checked-in"),
      cell(seen, "seen"), state);
    return row;
  }

  function updateSeats(roster) {
    const bySeat = new Map();
    // A seat taken at the kiosk wins over the same seat pre-assigned to someone else.
    roster.filter((e) => e.seat && e.seat_assigned).forEach((e) => bySeat.set(e.seat, e));
    roster.filter((e) => e.seat && !e.seat_assigned).forEach((e) => bySeat.set(e.seat, e));
    page.querySelectorAll(".seat[data-seat]").forEach((seat) => {
      const entry = bySeat.get(seat.dataset.seat);
      seat.className = "seat state-" + (entry ? entry.state : "empty");
      seat.title = entry ? `${entry.number} ${entry.name}: ${entry.state_label}` : "empty";
      seat.querySelector(".name").textContent =
        entry ? entry.name + (entry.seat_assigned ? " (assigned)" : "") : "";
    });
  }

  function alertItem(alert) {
    const item = document.createElement("li");
    item.dataset.flag = alert.id;
    item.className = "review-" + alert.review_state;
    if (alert.picture) {
      const link = Object.assign(document.createElement("a"),
        { href: alert.picture, target: "_blank", rel: "noopener" });
      const image = Object.assign(document.createElement("img"),
        { src: alert.picture, alt: "The alert's picture", loading: "lazy", width: 120 });
      link.append(image);
      item.append(link);
    }
    const body = document.createElement("div");
    const time = Object.assign(document.createElement("span"),
      { className: "time", textContent: Clock.time(alert.raised_at) });
    const kind = Object.assign(document.createElement("strong"), { textContent: alert.kind });
    const who = Object.assign(document.createElement("span"), { className: "who", textContent: alert.who });
    const review = Object.assign(document.createElement("span"),
      { className: "badge review", textContent: alert.review });
    const message = Object.assign(document.createElement("p"),
      { className: "alert-message", textContent: alert.message });
    body.append(time, " ", kind, " · ", who, " ", review, message);
    item.append(body);
    return item;
  }

  function render(state) {
    const c = state.counts;
    text("#count-checked-in", c.checked_in);
    text("#count-enrolled", c.enrolled);
    text("#count-present", c.present);
    text("#count-not-seen", c.not_seen);
    text("#count-unknown", c.unknown_faces);
    state.cameras.forEach((camera) => {
      text(`.room-camera-card[data-camera="${camera.id}"] .camera-status`, cameraStatus(camera));
    });
    if (state.roster.length) page.querySelector("#roster").replaceChildren(...state.roster.map(rosterRow));
    updateSeats(state.roster);
    const alerts = page.querySelector("#alerts");
    if (state.alerts.length) {
      // Keep the pictures already loaded: rebuild only when the list changed.
      const shown = [...alerts.children].map((li) => `${li.dataset.flag}:${li.className}`).join();
      const fresh = state.alerts.map((a) => `${a.id}:review-${a.review_state}`).join();
      if (shown !== fresh) alerts.replaceChildren(...state.alerts.map(alertItem));
    }
    text("#updated", Clock.time(new Date()));
  }

  function refresh() {
    fetch(page.dataset.stateUrl, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then(render)
      .catch(() => text("#updated", "failed, retrying"))
      .finally(() => setTimeout(refresh, REFRESH_MS));
  }

  page.addEventListener("click", (event) => {
    const button = event.target.closest(".show-frame");
    if (button) showFrame(button);
  });
  setTimeout(refresh, REFRESH_MS);
})();
