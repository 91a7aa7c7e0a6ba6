// Pre-exam system check: camera, one face visible and lit (the server's face detector),
// and whether the upload is fast enough for the exam's frame rate. Nothing is stored.
(function () {
  "use strict";
  const root = document.getElementById("system-check");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const video = $("preview");
  const canvas = $("grab");
  const periodMs = 1000 / Number(root.dataset.fps || 1);
  // A frame must reach the server well within its period, or frames queue up behind it.
  const HEADROOM = 2;

  function report(name, ok, text) {
    const item = $("checks").querySelector(`[data-check="${name}"]`);
    const badge = item.querySelector(".badge");
    badge.textContent = ok ? "ok" : "problem";
    badge.className = "badge " + (ok ? "ok" : "bad");
    item.querySelector(".fix").textContent = text;
  }

  async function camera() {
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({
        video: { width: 640, height: 480 }, audio: false,
      });
      await new Promise((resolve) => {
        if (video.videoWidth) resolve();
        else video.addEventListener("loadeddata", resolve, { once: true });
      });
      // Cameras adjust their exposure in the first moments: judge the light after that.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      report("camera", true, `${video.videoWidth}×${video.videoHeight}`);
      return true;
    } catch (error) {
      report("camera", false,
        "No camera picture: allow camera access in the browser, close other apps using the " +
        "camera, then run the check again.");
      return false;
    }
  }

  async function faceAndUpload() {
    const jpeg = await Camera.jpeg(video, canvas);
    const started = performance.now();
    let response;
    try {
      response = await fetch(root.dataset.checkUrl, {
        method: "POST", body: jpeg,
        headers: { Authorization: "Session " + root.dataset.token, "Content-Type": "image/jpeg" },
      });
    } catch (error) {
      report("face", false, "The server cannot be reached: check your internet connection.");
      report("upload", false, "No connection to the server.");
      return;
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      report("face", false, body.detail || `The server answered ${response.status}.`);
      return;
    }
    // What one frame costs to send: the round trip less the server's own work on it.
    const sendMs = Math.max(1, performance.now() - started - body.server_ms);
    const enough = sendMs * HEADROOM <= periodMs;
    report("face", body.problems.length === 0,
      body.problems.length ? body.problems.join(" ")
        : `One face, brightness ${Math.round(body.brightness)}.`);
    report("upload", enough,
      `A ${Math.round(jpeg.size / 1024)} KB frame took ${Math.round(sendMs)} ms to send; ` +
      `the exam sends one every ${Math.round(periodMs)} ms.` +
      (enough ? "" : " Move closer to the Wi-Fi router, use a cable, or stop downloads."));
  }

  $("run-check").addEventListener("click", async () => {
    $("run-check").disabled = true;
    try {
      if (video.srcObject || (await camera())) await faceAndUpload();
    } finally {
      $("run-check").disabled = false;
      $("run-check").textContent = "Run the check again";
    }
  });
})();
