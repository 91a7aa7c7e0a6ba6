// The entrance kiosk: the camera runs; each candidate steps up; a burst of frames (about 3 s:
// the candidate turns their head and blinks, a live face) goes to a worker, which says who it
// is among the exam's enrolled students; the verdict shows big, and the invigilator confirms
// (Enter), rejects (Esc) or types a student number to check that student instead (1:1).
(function () {
  "use strict";
  const root = document.getElementById("kiosk");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const video = $("preview");
  const canvas = $("grab");
  const input = $("override-number");
  const burstFps = Number(root.dataset.burstFps || 4);
  const burstFrames = Math.max(Number(root.dataset.burstMinFrames || 6),
    Math.round(Number(root.dataset.burstSeconds || 3) * burstFps));
  const POLL_EVERY = 300;
  const POLL_TIMEOUT = 120000;
  const SHOW_CONFIRMED = 2500; // ms the confirmation stays before the next candidate
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const attemptUrl = (id, action) =>
    root.dataset.attemptUrl.replace(/\/0\/$/, `/${id}/`) + (action ? `${action}/` : "");

  // idle: waiting for a candidate; busy: capturing or being judged; shown: a verdict is up.
  let state = "idle";
  let current = null; // the attempt on screen
  let watching = null;

  function setState(text, cls) {
    $("state").textContent = text;
    $("state").className = "badge " + (cls || "");
  }

  function csrf() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function api(url, options = {}) {
    const headers = { "X-CSRFToken": csrf(), Accept: "application/json" };
    if (options.json) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method: options.method || "GET", credentials: "same-origin", headers,
      body: options.json ? JSON.stringify(options.json) : options.body,
    });
    let body = {};
    try {
      body = await response.json();
    } catch (error) {
      body = { detail: response.statusText };
    }
    return { ok: response.ok, status: response.status, body };
  }

  // --- the camera, and a new face holding still (auto-capture) ---
  $("start-camera").addEventListener("click", startCamera);
  startCamera(); // a kiosk's camera runs from the start; the button is there if it was refused

  async function startCamera() {
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({
        video: { width: 640, height: 480 }, audio: false,
      });
    } catch (error) {
      setState("camera blocked: allow camera access and reload", "bad");
      return;
    }
    await new Promise((resolve) => {
      if (video.videoWidth) resolve();
      else video.addEventListener("loadeddata", resolve, { once: true });
    });
    $("start-camera").blur(); // Space and Enter are the kiosk's keys, not the button's
    $("start-camera").hidden = true;
    $("capture").disabled = false;
    setState("ready: next candidate", "ok");
    resetBackground();
    if (!watching) watching = setInterval(watchScene, 250);
  }

  // The scene as 64x48 grey values: the empty doorway (or the last candidate) is the
  // background; a candidate is someone who changed it and then holds still for a second.
  const motion = $("motion").getContext("2d", { willReadFrequently: true });
  let background = null;
  let previous = null;
  let stillFor = 0;

  function sample() {
    motion.drawImage(video, 0, 0, 64, 48);
    const rgba = motion.getImageData(0, 0, 64, 48).data;
    const grey = new Float32Array(64 * 48);
    for (let i = 0; i < grey.length; i += 1) grey[i] = (rgba[4 * i] + rgba[4 * i + 1] + rgba[4 * i + 2]) / 3;
    return grey;
  }

  const difference = (a, b) => a.reduce((sum, value, i) => sum + Math.abs(value - b[i]), 0) / a.length;

  function resetBackground() {
    background = video.videoWidth ? sample() : null;
    stillFor = 0;
  }

  function watchScene() {
    if (state !== "idle" || !video.videoWidth) return;
    const now = sample();
    const steady = previous && difference(now, previous) < 4;
    previous = now;
    stillFor = steady ? stillFor + 250 : 0;
    const changed = background && difference(now, background) > 18;
    if ($("auto-capture").checked && changed && stillFor >= 1000) capture();
  }

  // --- a burst, judged on a worker ---
  $("capture").addEventListener("click", capture);

  async function capture() {
    if (state === "busy") return;
    state = "busy";
    current = null;
    showIdle("Look at the camera, turn your head slowly left and right, and blink.");
    setState("recording", "warn");
    const form = new FormData();
    const progress = $("burst-progress");
    progress.hidden = false;
    const started = performance.now();
    for (let i = 0; i < burstFrames; i += 1) {
      await sleep(Math.max(0, started + (1000 * i) / burstFps - performance.now()));
      form.append("frames", await Camera.jpeg(video, canvas), `frame-${i}.jpg`);
      progress.value = Math.round((100 * (i + 1)) / burstFrames);
    }
    progress.hidden = true;
    setState("checking", "warn");
    const sent = await api(root.dataset.burstUrl, { method: "POST", body: form });
    if (!sent.ok) return failed(sent.body.detail || "The burst was refused.");
    await follow(sent.body.poll);
  }

  async function follow(url) {
    const deadline = performance.now() + POLL_TIMEOUT;
    while (performance.now() < deadline) {
      const polled = await api(url).catch(() => null);
      if (polled && polled.ok && polled.body.status === "done") return show(polled.body);
      if (polled && !polled.ok && polled.status !== 503) {
        return failed(polled.body.detail || "The check failed.");
      }
      await sleep(POLL_EVERY);
    }
    return failed("The check is taking too long: capture again.");
  }

  function failed(message) {
    state = "idle";
    showIdle(message, true);
    setState("ready: next candidate", "ok");
  }

  // --- the verdict ---
  function showIdle(message, isError) {
    const result = $("result");
    result.dataset.outcome = "idle";
    delete result.dataset.decision;
    $("result-photo").hidden = true;
    $("result-name").textContent = isError ? "Capture again" : "Next candidate";
    $("result-number").textContent = "";
    $("result-seat").hidden = true;
    $("result-distance").textContent = "";
    $("result-message").textContent = message || "";
    $("result-message").className = isError ? "message error" : "message";
  }

  function show(attempt) {
    current = attempt;
    state = "shown";
    const result = $("result");
    result.dataset.outcome = attempt.outcome;
    result.dataset.decision = attempt.decision || "";
    const student = attempt.student;
    $("result-name").textContent = student ? student.name : attempt.outcome_label;
    $("result-number").textContent = student ? student.number : "";
    const photo = $("result-photo");
    photo.hidden = !(student && student.photo_url);
    if (!photo.hidden) photo.src = student.photo_url;
    $("result-seat").hidden = !attempt.seat;
    $("result-seat-label").textContent = attempt.seat || "";
    $("result-message").textContent = attempt.message;
    $("result-message").className = attempt.outcome === "match" ? "message" : "message error";
    const distance = attempt.distance === null ? "" : `distance ${attempt.distance.toFixed(3)}`;
    const margin = attempt.margin === null ? "" : ` · margin ${attempt.margin.toFixed(3)}`;
    const seconds = attempt.judge_ms === null ? "" : ` · judged in ${(attempt.judge_ms / 1000).toFixed(1)} s`;
    $("result-distance").textContent = distance + margin + seconds;
    showCounts(attempt.counts);
    setState(attempt.outcome === "match" ? "Enter to confirm" : "Esc, or type a number", "warn");
  }

  function showCounts(counts) {
    if (!counts) return;
    $("count-checked-in").textContent = counts.checked_in;
    $("count-expected").textContent = counts.expected;
  }

  const CONFIRMABLE = new Set(["match", "not_verified"]);

  async function confirm() {
    if (state !== "shown" || !current || current.decision || !CONFIRMABLE.has(current.outcome)) return;
    state = "busy";
    const done = await api(attemptUrl(current.id, "confirm"), { method: "POST" });
    if (!done.ok) {
      state = "shown";
      $("result-message").textContent = done.body.detail || "Could not confirm.";
      return;
    }
    show(done.body.attempt);
    $("result-message").textContent = done.body.seat
      ? `Checked in: please take seat ${done.body.seat}.` : "Checked in.";
    setState("checked in", "ok");
    await sleep(SHOW_CONFIRMED);
    next();
  }

  async function reject() {
    if (current && !current.decision && current.outcome !== "pending") {
      await api(attemptUrl(current.id, "reject"), { method: "POST" });
    }
    next();
  }

  function next() {
    state = "idle";
    current = null;
    input.value = "";
    showIdle("");
    setState("ready: next candidate", "ok");
    resetBackground(); // the candidate who just left is the scene now
  }

  async function override(number) {
    if (!current || current.decision || state !== "shown") return;
    state = "busy";
    setState("checking " + number, "warn");
    const typed = await api(attemptUrl(current.id, "override"), {
      method: "POST", json: { student_number: number },
    });
    input.value = "";
    input.blur();
    if (!typed.ok) {
      state = "shown";
      $("result-message").textContent = typed.body.detail || "Could not check that number.";
      return;
    }
    if (typed.body.status === "done") return show(typed.body);
    await follow(attemptUrl(typed.body.id));
  }

  $("override").addEventListener("submit", (event) => {
    event.preventDefault();
    const number = input.value.trim();
    if (number) override(number);
    else confirm();
  });

  document.addEventListener("keydown", (event) => {
    if (event.target === input) {
      if (event.key === "Escape") {
        input.value = "";
        input.blur();
      }
      return; // Enter submits the form
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === " " && state !== "busy" && !$("capture").disabled) {
      event.preventDefault();
      capture();
    } else if (event.key === "Enter") {
      event.preventDefault();
      confirm();
    } else if (event.key === "Escape") {
      reject();
    } else if (event.key.length === 1 && /[\w-]/.test(event.key) && state === "shown") {
      input.focus(); // typing a student number starts an override; the key lands in the box
    }
  });
})();
