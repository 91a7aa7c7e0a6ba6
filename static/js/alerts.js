// Live alerts for one exam: WebSocket push, plus a REST catch-up on every (re)connect
// so that a flag sent while the socket was down is never lost.
(function () {
  "use strict";
  const list = document.getElementById("alerts");
  const state = document.getElementById("live-state");
  if (!list) return;
  const examId = list.dataset.exam;
  const seen = new Set(
    Array.from(list.querySelectorAll("[data-flag-id]")).map((li) => Number(li.dataset.flagId))
  );
  let retryDelay = 1000;

  function setState(text, cls) {
    state.textContent = text;
    state.className = "badge " + (cls || "");
  }

  function show(flag) {
    if (seen.has(flag.id)) return;
    seen.add(flag.id);
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    const li = document.createElement("li");
    li.className = "sev-" + flag.severity + " fresh";
    li.dataset.flagId = flag.id;
    const time = new Date(flag.raised_at).toLocaleTimeString();
    const who = flag.student_number + (flag.student_name ? " " + flag.student_name : "");
    li.append(
      Object.assign(document.createElement("time"), { textContent: time }),
      " ",
      Object.assign(document.createElement("strong"), { textContent: flag.kind_label }),
      " · " + who + (flag.message ? " — " + flag.message : "")
    );
    list.prepend(li);
  }

  async function catchUp() {
    const after = seen.size ? Math.max(...seen) : 0;
    const url = `${list.dataset.flagsUrl}?exam=${examId}&after_id=${after}&ordering=raised_at`;
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    const page = await response.json();
    page.results.forEach(show);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/exams/${examId}/alerts/`);
    socket.onopen = () => {
      retryDelay = 1000;
      setState("live", "ok");
      catchUp().catch(() => {});
    };
    socket.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (data.type === "flag") show(data.flag);
    };
    socket.onclose = () => {
      setState("reconnecting…", "warn");
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    };
  }

  connect();
})();
