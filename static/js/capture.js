// Student capture page: consent, camera, identity check, then one JPEG frame at the exam's
// rate, one request at a time, backing off when the server is unreachable or busy.
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

  function setState(text, cls) {
    $("state").textContent = text;
    $("state").className = "badge " + (cls || "");
  }

  function grab() {
    // At most 640 px on the long side, keeping the camera's aspect ratio.
    const scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      body,
      headers: { Authorization: "Session " + token, "Content-Type": "image/jpeg" },
    });
  }

  async function detail(response) {
    try {
      return (await response.json()).detail || response.statusText;
    } catch (error) {
      return response.statusText;
    }
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

  $("check-in").addEventListener("click", async () => {
    $("check-in").disabled = true;
    setState("checking identity…", "warn");
    const result = $("check-in-result");
    result.hidden = false;
    try {
      const response = await post(root.dataset.checkInUrl, await grab());
      if (!response.ok) {
        result.textContent = await detail(response);
        result.className = "message error";
        $("check-in").disabled = false;
        setState("identity check failed: try again", "bad");
        return;
      }
      const body = await response.json();
      result.textContent = body.verified === false
        ? "Your face did not match your enrolment photo. Your invigilator will check; the exam continues."
        : "Identity checked. Monitoring has started: keep this page open until the exam ends.";
      result.className = body.verified === false ? "message error" : "message";
      $("check-in").hidden = true;
      stream();
    } catch (error) {
      result.textContent = "The server cannot be reached. Check your connection and try again.";
      result.className = "message error";
      $("check-in").disabled = false;
      setState("offline", "bad");
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
      setState(await detail(response), "bad");
      return null; // the session is over: stop sending
    }
    // 503: the server's database or Redis is briefly down, and it says how long to wait.
    const error = new Error("server answered " + response.status);
    error.retryAfter = 1000 * Number(response.headers.get("Retry-After") || 0);
    throw error;
  }

  async function stream() {
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
    if (delay !== null) setTimeout(stream, delay);
  }
})();
