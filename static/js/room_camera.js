// Room camera page: a laptop pointed at the exam room sends one JPEG of the whole room (up to
// 1920x1080, or 4K when asked and offered) every few seconds, one request at a time, backing
// off when the server is unreachable or busy, until stopped or the server says it is over.
(function () {
  "use strict";
  const root = document.getElementById("room-camera");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const token = root.dataset.token;
  const maxFps = Number(root.dataset.fps || 0.5);
  const video = $("preview");
  const canvas = $("grab");
  let sent = 0;
  let limited = 0;
  let backoff = 0;
  let timer = null;
  let running = false;
  // Lowered, step by step, while the server refuses frames as too large (413).
  const qualities = [0.85, 0.75, 0.65, 0.55];
  let quality = 0;
  let maxSide = Number(root.dataset.maxSide);

  // Periods the camera's rate allows (the server refuses frames faster than it).
  [1, 2, 3, 4, 5]
    .filter((seconds) => 1 / seconds <= maxFps + 1e-9)
    .forEach((seconds, index) => {
      const option = new Option(seconds + " s", String(seconds), index === 0, index === 0);
      $("period").add(option);
    });
  if (!$("period").options.length) $("period").add(new Option("5 s", "5", true, true));

  function setState(text, cls) {
    $("state").textContent = text;
    $("state").className = "badge " + (cls || "");
  }

  function showError(text) {
    $("error").hidden = !text;
    $("error").textContent = text || "";
  }

  function jpeg() {
    // The camera's own resolution, scaled down only past the server's limit.
    const scale = Math.min(1, maxSide / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", qualities[quality]));
  }

  async function detail(response) {
    try {
      return (await response.json()).detail || response.statusText;
    } catch (error) {
      return response.statusText;
    }
  }

  const cameraErrors = {
    NotAllowedError: "Camera access was refused. Allow the camera for this site (the camera icon in the address bar), then press Start again.",
    NotFoundError: "No camera was found on this computer. Connect one, then press Start again.",
    NotReadableError: "The camera is in use by another program (a video call?). Close it, then press Start again.",
    OverconstrainedError: "The camera does not offer a usable resolution.",
    SecurityError: "The browser blocks the camera on this page: open it over https (or on localhost).",
  };

  async function openCamera() {
    const uhd = $("uhd").checked;
    // "ideal": the largest the camera offers up to this, not an error when it offers less.
    const constraints = {
      audio: false,
      video: { width: { ideal: uhd ? 3840 : 1920 }, height: { ideal: uhd ? 2160 : 1080 } },
    };
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw Object.assign(new Error(), { name: "SecurityError" });
    }
    video.srcObject = await navigator.mediaDevices.getUserMedia(constraints);
    await new Promise((resolve) => {
      if (video.readyState >= 1) resolve();
      else video.addEventListener("loadedmetadata", resolve, { once: true });
    });
    $("resolution").textContent = "Camera: " + video.videoWidth + "x" + video.videoHeight;
  }

  async function keepAwake() {
    // A laptop whose screen sleeps may pause its camera; not every browser can prevent it.
    try {
      if (navigator.wakeLock) await navigator.wakeLock.request("screen");
    } catch (error) {
      const note = " (keep this screen from sleeping)";
      if (!$("resolution").textContent.endsWith(note)) $("resolution").textContent += note;
    }
  }

  // The browser drops the lock when the page is hidden: take it again on return.
  document.addEventListener("visibilitychange", () => {
    if (running && document.visibilityState === "visible") keepAwake();
  });

  function stopCamera() {
    running = false;
    clearTimeout(timer);
    if (video.srcObject) video.srcObject.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
    $("step-camera").hidden = true;
    $("step-start").hidden = false;
  }

  $("start").addEventListener("click", async () => {
    $("start").disabled = true;
    showError("");
    try {
      await openCamera();
    } catch (error) {
      showError(cameraErrors[error.name] || "The camera could not be opened: " + (error.message || error.name));
      setState("camera not available", "bad");
      return;
    } finally {
      $("start").disabled = false;
    }
    $("step-start").hidden = true;
    $("step-camera").hidden = false;
    keepAwake();
    running = true;
    setState("sending", "ok");
    send();
  });

  $("stop").addEventListener("click", () => {
    stopCamera();
    setState("stopped", "warn");
  });

  function smaller() {
    // Lower JPEG quality first (the room's faces keep their pixels), then full HD at most.
    if (quality + 1 < qualities.length) quality += 1;
    else if (maxSide > 1920) maxSide = 1920;
  }

  async function sendFrame() {
    const period = 1000 * Number($("period").value);
    const blob = await jpeg();
    const response = await fetch(root.dataset.framesUrl, {
      method: "POST",
      body: blob,
      headers: { Authorization: "Camera " + token, "Content-Type": "image/jpeg" },
    });
    if (response.status === 202) {
      backoff = 0;
      sent += 1;
      showError("");
      setState("sending", "ok");
      $("sent").textContent = sent + " frame(s) sent, last at " + new Date().toLocaleTimeString();
      return period;
    }
    if (response.status === 429) {
      limited += 1;
      $("limited").textContent = limited + " refused as too fast";
      return Math.max(period, 1000 * Number(response.headers.get("Retry-After") || 1));
    }
    const message = await detail(response);
    if (response.status === 409 && /not started/.test(message)) {
      // Set up before the exam opens: keep the preview, try again in a while.
      showError(message + " Frames are sent once it opens.");
      setState("waiting for the exam", "warn");
      return 30000;
    }
    if (response.status === 401 || response.status === 409) {
      // The exam has ended, or the camera was switched off: nothing more to send.
      stopCamera();
      showError(message);
      setState("stopped by the server", "bad");
      return null;
    }
    if (response.status === 413) smaller();
    if (response.status >= 400 && response.status < 500) {
      // This frame was refused: the next one may pass (smaller, after a 413); say why.
      showError("Frame refused (" + response.status + "): " + message);
      return period;
    }
    // 503: the server's database or Redis is briefly down, and it says how long to wait.
    const error = new Error("the server answered " + response.status + ": " + message);
    error.retryAfter = 1000 * Number(response.headers.get("Retry-After") || 0);
    throw error;
  }

  async function send() {
    if (!running) return;
    let delay;
    try {
      delay = await sendFrame();
    } catch (error) {
      backoff = Math.min(backoff ? backoff * 2 : 1000, 30000);
      // At least what the server asked for, plus jitter.
      delay = Math.max(backoff, error.retryAfter || 0) * (1 + 0.5 * Math.random());
      const why = error instanceof TypeError ? "the server cannot be reached" : error.message;
      showError("Not sent: " + why + ". Retrying in " + Math.round(delay / 1000) + " s.");
      setState("reconnecting…", "warn");
    }
    if (delay !== null && running) timer = setTimeout(send, delay);
  }
})();
