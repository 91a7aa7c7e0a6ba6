// Student capture page: consent, camera, identity check (with a retry), then one JPEG frame at
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

  async function checkIdentity(button) {
    button.disabled = true;
    setState("checking identity…", "warn");
    try {
      const response = await post(root.dataset.checkInUrl, await grab());
      if (!response.ok) {
        showResult(await detail(response), true);
        if (response.status === 409) return endedByServer(await detail(response));
        setState(streaming ? "connected: sending" : "identity check failed: try again", "bad");
        return;
      }
      const body = await response.json();
      showResult(body.message, body.verified === false);
      $("check-in").hidden = true;
      // A failed match may be the light or the framing: the student may try again.
      $("retry-check-in").hidden = body.verified !== false;
      $("finish").hidden = false;
      if (!streaming) stream();
    } catch (error) {
      showResult("The server cannot be reached. Check your connection and try again.", true);
      setState("offline", "bad");
    } finally {
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
