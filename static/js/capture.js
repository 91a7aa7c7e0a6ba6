// Student capture page: consent, camera, identity check (a burst of frames judged on a worker,
// polled; with retries while attempts are left), then one JPEG frame at
// the exam's rate, one request at a time, backing off when the server is unreachable or busy,
// until the student presses Finish (or the server says the session is over).
(function () {
  "use strict";
  const root = document.getElementById("capture");
  if (!root) return;
  const token = root.dataset.token;
  const period = 1000 / Number(root.dataset.fps || 1);
  const $ = (id) => document.getElementById(id);
  const video = $("preview");
  const canvas = $("grab");
  let sent = 0;
  let backoff = 0;
  let streaming = false;
  let finished = root.dataset.finished === "true";

  function setState(text, cls) {
    $("state").textContent = text;
    $("state").className = "badge " + (cls || "");
  }

  const grab = () => Camera.jpeg(video, canvas);

  function post(url, body) {
    const headers = { Authorization: "Session " + token };
    if (body) headers["Content-Type"] = "image/jpeg";
    return fetch(url, { method: "POST", body, headers });
  }

  async function detail(response) {
    try {
      return (await response.json()).detail || response.statusText;
    } catch (error) {
      return response.statusText;
    }
  }

  function showResult(text, isError) {
    const result = $("check-in-result");
    result.hidden = false;
    delete result.dataset.outcome;
    result.textContent = text;
    result.className = isError ? "message error" : "message";
  }

  $("consent").addEventListener("change", (event) => {
    $("start-camera").disabled = !event.target.checked;
  });

  $("start-camera").addEventListener("click", async () => {
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({
        video: { width: 640, height: 480 },
        audio: false,
      });
    } catch (error) {
      setState("camera blocked: allow camera access and reload", "bad");
      return;
    }
    $("step-consent").hidden = true;
    $("step-camera").hidden = false;
    setState("camera on: check your identity", "warn");
  });

  // The identity check: a burst of about CHECK_IN_BURST_SECONDS of frames (the student turns
  // their head and blinks: a live face, not a photo), uploaded at once, judged on a worker,
  // and polled for the verdict.
  const burstSeconds = Number(root.dataset.burstSeconds || 3);
  const burstFps = Number(root.dataset.burstFps || 4);
  const burstFrames = Math.max(Number(root.dataset.burstMinFrames || 6),
    Math.round(burstSeconds * burstFps));
  const pollTimeout = 1000 * Number(root.dataset.pollTimeout || 180);
  const POLL_EVERY = 500;
  // Verdicts after which the exam goes on (streaming starts), whatever else is offered.
  const GO_ON = new Set(["verified", "not_verified", "no_reference"]);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function videoReady() {
    if (video.videoWidth) return;
    await new Promise((resolve) => video.addEventListener("loadeddata", resolve, { once: true }));
  }

  async function recordBurst() {
    await videoReady();
    $("burst").hidden = false;
    const progress = $("burst-progress");
    const frames = [];
    const offsets = [];
    const started = performance.now();
    for (let i = 0; i < burstFrames; i += 1) {
      const due = started + (1000 * i) / burstFps;
      await sleep(Math.max(0, due - performance.now()));
      offsets.push(Math.round(performance.now() - started));
      frames.push(await grab());
      progress.value = Math.round((100 * (i + 1)) / burstFrames);
      $("burst-step").textContent = `${i + 1} / ${burstFrames}`;
    }
    return { frames, offsets };
  }

  function uploadBurst({ frames, offsets }) {
    const form = new FormData();
    frames.forEach((frame, i) => form.append("frames", frame, `frame-${i}.jpg`));
    form.append("captured_at", JSON.stringify(offsets));
    return fetch(root.dataset.checkInUrl, {
      method: "POST", body: form, headers: { Authorization: "Session " + token },
    });
  }

  async function pollVerdict(url) {
    const deadline = performance.now() + pollTimeout;
    while (performance.now() < deadline) {
      await sleep(POLL_EVERY);
      let response;
      try {
        response = await fetch(url, { headers: { Authorization: "Session " + token } });
      } catch (error) {
        continue; // a blip in the connection: keep asking until the deadline
      }
      if (response.status === 404) {
        return { outcome: "error", retry: true, attempts_left: null,
          message: "The check expired before it was done: try again." };
      }
      if (!response.ok) continue;
      const body = await response.json();
      if (body.status === "done") return body;
    }
    return { outcome: "error", retry: true, attempts_left: null,
      message: "The check is taking too long: try again." };
  }

  function showVerdict(verdict) {
    const exhausted = verdict.attempts_left === 0;
    const goOn = GO_ON.has(verdict.outcome) || exhausted ||
      (!verdict.retry && verdict.outcome !== "error");
    let text = verdict.message;
    if (exhausted && !GO_ON.has(verdict.outcome)) {
      text += " No attempts left: the exam continues, and an invigilator will check your identity.";
    }
    showResult(text, verdict.verified === false || !goOn || exhausted);
    $("check-in-result").dataset.outcome = verdict.outcome; // for tests and styling
    const left = $("attempts-left");
    const canRetry = verdict.retry && !exhausted;
    left.hidden = !(canRetry && Number.isInteger(verdict.attempts_left));
    left.textContent = `${verdict.attempts_left} attempt(s) left.`;
    $("retry-check-in").hidden = !canRetry;
    $("check-in").hidden = true;
    if (goOn) {
      $("finish").hidden = false;
      if (!streaming) stream();
    } else {
      setState(streaming ? "connected: sending" : "identity not checked yet: try again", "bad");
    }
  }

  async function checkIdentity(button) {
    button.disabled = true;
    $("retry-check-in").hidden = true;
    $("check-in-result").hidden = true;
    setState("checking identity: recording…", "warn");
    try {
      const burst = await recordBurst();
      setState("checking identity: sending…", "warn");
      $("burst-step").textContent = "sending…";
      const response = await uploadBurst(burst);
      if (!response.ok) {
        const message = await detail(response);
        showResult(message, true);
        if (response.status === 409) return endedByServer(message);
        $("check-in").hidden = true;
        $("retry-check-in").hidden = false;
        setState(streaming ? "connected: sending" : "identity check failed: try again", "bad");
        return;
      }
      const accepted = await response.json();
      setState("checking identity: waiting for the result…", "warn");
      $("burst-step").textContent = "checking…";
      showVerdict(await pollVerdict(accepted.poll));
    } catch (error) {
      showResult("The server cannot be reached. Check your connection and try again.", true);
      $("check-in").hidden = true;
      $("retry-check-in").hidden = false;
      setState("offline", "bad");
    } finally {
      $("burst").hidden = true;
      button.disabled = false;
    }
  }

  $("check-in").addEventListener("click", () => checkIdentity($("check-in")));
  $("retry-check-in").addEventListener("click", () => checkIdentity($("retry-check-in")));

  function stopCamera() {
    if (video.srcObject) video.srcObject.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  }

  function showFinished(text) {
    finished = true;
    stopCamera();
    $("step-camera").hidden = true;
    $("step-consent").hidden = true;
    $("step-finished").hidden = false;
    if (text) $("finished-text").textContent = text;
    setState("finished", "ok");
  }

  function endedByServer(message) {
    // 409: finished elsewhere, or refused until a check-in; 401: the exam has ended.
    if (/finished|ended|expired/i.test(message)) showFinished(message);
    else setState(message, "bad");
    return null;
  }

  $("finish").addEventListener("click", async () => {
    if (!window.confirm("Finish the exam now? Monitoring stops, and you cannot restart it.")) {
      return;
    }
    $("finish").disabled = true;
    try {
      const response = await post(root.dataset.finishUrl, null);
      if (!response.ok && response.status !== 401) throw new Error(await detail(response));
      showFinished();
    } catch (error) {
      $("finish").disabled = false;
      setState("could not finish: " + error.message + " (try again)", "bad");
    }
  });

  async function sendFrame() {
    const response = await post(root.dataset.framesUrl, await grab());
    if (response.status === 202) {
      backoff = 0;
      sent += 1;
      setState("connected: sending", "ok");
      $("sent").textContent = sent + " frame(s) sent";
      return period;
    }
    if (response.status === 429) {
      return 1000 * Number(response.headers.get("Retry-After") || 1);
    }
    if (response.status === 401 || response.status === 409) {
      return endedByServer(await detail(response)); // the session is over: stop sending
    }
    // 503: the server's database or Redis is briefly down, and it says how long to wait.
    const error = new Error("server answered " + response.status);
    error.retryAfter = 1000 * Number(response.headers.get("Retry-After") || 0);
    throw error;
  }

  async function stream() {
    streaming = true;
    if (finished) return;
    let delay;
    try {
      delay = await sendFrame();
    } catch (error) {
      backoff = Math.min(backoff ? backoff * 2 : 1000, 30000);
      // At least what the server asked for, plus jitter: a hall of students whose server
      // recovers does not all come back at the same instant.
      delay = Math.max(backoff, error.retryAfter || 0) * (1 + 0.5 * Math.random());
      setState("reconnecting in " + Math.round(delay / 1000) + " s…", "warn");
    }
    if (delay !== null && !finished) setTimeout(stream, delay);
  }
})();
