// The dispatch board: drag a card (or pick a column in its "Move to" list) to change the job's status
// through the jobs API; a refused move snaps back with the API's reason. Changes anyone else makes arrive
// on the company's event stream and the changed job's card is fetched again from the server.
"use strict";

(() => {
  const board = document.querySelector("[data-board]");
  if (!board) return;

  const column = (status) => board.querySelector(`[data-column][data-status="${status}"] [data-cards]`);

  function updateCounts() {
    board.querySelectorAll("[data-column]").forEach((col) => {
      col.querySelector("[data-count]").textContent = col.querySelectorAll(".job-card").length;
    });
  }

  // Cards keep the server's order: by time, the unscheduled pile by title.
  function place(card, status) {
    const cards = column(status);
    const after = [...cards.children].find((other) => other !== card && other.dataset.sort > card.dataset.sort);
    cards.insertBefore(card, after || null);
    updateCounts();
  }

  function cardUrl(jobId) {
    const query = new URLSearchParams({ day: board.dataset.day });
    if (board.dataset.technician) query.set("technician", board.dataset.technician);
    return `/dispatch/cards/${jobId}?${query}`;
  }

  // The job's card as the server renders it now: replaced, moved, added or (gone from this board) removed.
  async function refreshCard(jobId) {
    const response = await fetch(cardUrl(jobId));
    const current = board.querySelector(`.job-card[data-job-id="${jobId}"]`);
    if (response.status === 204 || response.status === 404) {
      current?.remove();
      updateCounts();
      return;
    }
    if (!response.ok) return;
    const holder = document.createElement("div");
    holder.innerHTML = (await response.text()).trim();
    const fresh = holder.querySelector(".job-card");
    if (!fresh) return;  // not a card (signed out meanwhile: the sign-in page)
    if (current) current.replaceWith(fresh);
    place(fresh, fresh.dataset.status);
  }

  async function move(card, target) {
    const from = card.dataset.status;
    if (from === target || card.classList.contains("pending")) return;
    const home = { parent: card.parentElement, next: card.nextElementSibling };
    place(card, target);
    card.classList.add("pending");
    try {
      await NexJob.api("POST", `/v1/jobs/${card.dataset.jobId}/status`, { status: target });
      await refreshCard(card.dataset.jobId);
    } catch (error) {
      home.parent.insertBefore(card, home.next && home.next.parentElement === home.parent ? home.next : null);
      card.querySelector("[data-move]").value = from;
      updateCounts();
      NexJob.toast(error.message);
    } finally {
      card.classList.remove("pending");
    }
  }

  let dragged = null;
  board.addEventListener("dragstart", (event) => {
    dragged = event.target.closest(".job-card");
    if (!dragged) return;
    event.dataTransfer.setData("text/plain", dragged.dataset.jobId);
    event.dataTransfer.effectAllowed = "move";
    dragged.classList.add("dragging");
  });
  board.addEventListener("dragend", () => {
    dragged?.classList.remove("dragging");
    board.querySelectorAll(".drop-target").forEach((col) => col.classList.remove("drop-target"));
    dragged = null;
  });
  board.addEventListener("dragover", (event) => {
    const col = event.target.closest("[data-column]");
    if (!col || !dragged) return;
    event.preventDefault();  // allows the drop
    event.dataTransfer.dropEffect = "move";
    board.querySelectorAll(".drop-target").forEach((other) => other !== col && other.classList.remove("drop-target"));
    col.classList.add("drop-target");
  });
  board.addEventListener("drop", (event) => {
    const col = event.target.closest("[data-column]");
    if (!col || !dragged) return;
    event.preventDefault();
    col.classList.remove("drop-target");
    move(dragged, col.dataset.status);
  });
  board.addEventListener("change", (event) => {
    const select = event.target.closest("[data-move]");
    if (select) move(select.closest(".job-card"), select.value);
  });

  // The whole board again, after the stream may have missed changes (a reconnect, or `resync`).
  async function reloadBoard() {
    const response = await fetch(location.href);
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.querySelector("[data-board]");
    if (fresh) board.innerHTML = fresh.innerHTML;
  }

  const live = document.querySelector("[data-live]");
  const events = new EventSource("/v1/events");
  let connectedBefore = false;
  events.addEventListener("open", () => {
    live.textContent = "live";
    live.classList.add("on");
    if (connectedBefore) reloadBoard();
    connectedBefore = true;
  });
  events.addEventListener("error", () => {
    live.textContent = "reconnecting…";
    live.classList.remove("on");
  });
  for (const kind of ["job.created", "job.status", "job.assigned", "job.rescheduled"]) {
    events.addEventListener(kind, (event) => refreshCard(JSON.parse(event.data).payload.job_id));
  }
  events.addEventListener("resync", reloadBoard);
})();
