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

  const auth = { Authorization: "Session " + root.dataset.token };
  const pollTimeout = 1000 * Number(root.dataset.pollTimeout || 180);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // The picture is checked on a worker: ask every half second until it is done.
  async function result(url) {
    const deadline = performance.now() + pollTimeout;
    while (performance.now() < deadline) {
      await sleep(500);
      try {
        const response = await fetch(url, { headers: auth });
        const body = await response.json().catch(() => ({}));
        if (response.status === 404) return { detail: body.detail || "The check expired." };
        if (response.ok && body.status === "done") return body;
      } catch (error) {
        // a blip: keep asking until the deadline
      }
    }
    return { detail: "The check is taking too long: run it again." };
  }

  async function faceAndUpload() {
    const jpeg = await Camera.jpeg(video, canvas);
    const started = performance.now();
    let response;
    try {
      response = await fetch(root.dataset.checkUrl, {
        method: "POST", body: jpeg, headers: { ...auth, "Content-Type": "image/jpeg" },
      });
    } catch (error) {
      report("face", false, "The server cannot be reached: check your internet connection.");
      report("upload", false, "No connection to the server.");
      return;
    }
    // What one frame costs to send: the upload's round trip (the server only stores it).
    const sendMs = Math.max(1, performance.now() - started);
    const accepted = await response.json().catch(() => ({}));
    if (!response.ok) {
      report("face", false, accepted.detail || `The server answered ${response.status}.`);
      return;
    }
    const enough = sendMs * HEADROOM <= periodMs;
    report("upload", enough,
      `A ${Math.round(jpeg.size / 1024)} KB frame took ${Math.round(sendMs)} ms to send; ` +
      `the exam sends one every ${Math.round(periodMs)} ms.` +
      (enough ? "" : " Move closer to the Wi-Fi router, use a cable, or stop downloads."));
    report("face", false, "Checking…");
    const body = await result(accepted.poll);
    if (!body.problems) {
      report("face", false, body.detail);
      return;
    }
    report("face", body.problems.length === 0,
      body.problems.length ? body.problems.join(" ")
        : `One face, brightness ${Math.round(body.brightness)}.`);
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
