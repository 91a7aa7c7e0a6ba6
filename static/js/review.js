// Review queue: j/k to move, n to type the note, c/d/e to confirm, dismiss or escalate.
(function () {
  "use strict";
  const queue = document.getElementById("queue");
  if (!queue) return;
  const csrf = document.querySelector("[name=csrfmiddlewaretoken]").value;
  const items = () => Array.from(queue.querySelectorAll("li[data-flag-id]:not(.done)"));
  let current = 0;

  function select(index) {
    const list = items();
    if (!list.length) return;
    current = Math.max(0, Math.min(index, list.length - 1));
    queue.querySelectorAll("li.current").forEach((li) => li.classList.remove("current"));
    list[current].classList.add("current");
    list[current].focus();
    list[current].scrollIntoView({ block: "nearest" });
  }

  async function review(li, state) {
    const note = li.querySelector(".note");
    if (!note.value.trim()) {
      note.classList.add("invalid");
      note.focus();
      return;
    }
    const response = await fetch(`${queue.dataset.flagsUrl}${li.dataset.flagId}/review/`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ state, note: note.value }),
    });
    const outcome = li.querySelector(".outcome");
    if (!response.ok) {
      outcome.textContent = "not saved: " + ((await response.json()).detail || response.status);
      return;
    }
    outcome.textContent = state;
    li.classList.add("done", "state-" + state);
    select(current);
  }

  queue.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-state]");
    if (button) review(button.closest("li"), button.dataset.state);
  });

  document.addEventListener("keydown", (event) => {
    const typing = event.target.classList && event.target.classList.contains("note");
    const li = items()[current];
    if (typing) {
      if (event.key === "Escape" || event.key === "Enter") event.target.blur();
      return;
    }
    const actions = { c: "confirmed", d: "dismissed", e: "escalated" };
    if (event.key === "j") select(current + 1);
    else if (event.key === "k") select(current - 1);
    else if (event.key === "n" && li) {
      event.preventDefault();
      li.querySelector(".note").focus();
    } else if (actions[event.key] && li) review(li, actions[event.key]);
  });

  select(0);
})();
