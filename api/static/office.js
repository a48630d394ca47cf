// The office pages' small shared script: calls to the /v1 API with the session's CSRF token, errors
// shown next to the field that caused them, confirmation before destructive actions.
"use strict";

const NexJob = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  class ApiError extends Error {
    constructor(status, detail) {
      super(typeof detail === "string" ? detail : "Please check the highlighted fields.");
      this.status = status;
      this.detail = detail;
    }
  }

  async function api(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, data.detail ?? response.statusText);
    return data;
  }

  function toast(message, kind = "error") {
    const box = document.querySelector(".toast");
    if (!box) return alert(message);
    box.textContent = message;
    box.className = `toast ${kind}`;
    box.hidden = false;
    clearTimeout(box._timer);
    box._timer = setTimeout(() => (box.hidden = true), 6000);
  }

  // FastAPI's 422 detail is a list of {loc: ["body", "field", ...], msg}: put each message under its field.
  function showErrors(form, error) {
    form.querySelectorAll(".field-error").forEach((el) => el.remove());
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    const general = form.querySelector(".error");
    if (general) general.textContent = "";
    const unplaced = [];
    for (const item of Array.isArray(error.detail) ? error.detail : []) {
      const name = (item.loc || []).filter((part) => part !== "body").join(".");
      const field = form.querySelector(`[name="${name}"]`) || form.querySelector(`[name="${item.loc?.at(-1)}"]`);
      const text = item.msg.replace(/^Value error, /, ""); // pydantic prefixes its validators' messages
      if (!field) { unplaced.push(name ? `${name}: ${text}` : text); continue; }  // "": the whole body
      field.setAttribute("aria-invalid", "true");
      const note = document.createElement("span");
      note.className = "field-error";
      note.textContent = text;
      field.insertAdjacentElement("afterend", note);
    }
    const message = unplaced.length ? unplaced.join("; ") : Array.isArray(error.detail) ? "" : error.message;
    if (message) general ? (general.textContent = message) : toast(message);
  }

  function changed(field) {
    if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
    if (field.tagName === "SELECT") return [...field.options].some((o) => o.selected !== o.defaultSelected);
    return field.value !== field.defaultValue;
  }

  // The form's named inputs as a JSON body: empty → omitted (or null on a form with data-empty="null",
  // so an edit can clear a field), numbers and checkboxes typed; dollars typed in a `data-cents` input
  // are sent as cents. A form with `data-changes-only` (an edit) sends only the fields the person changed.
  function formBody(form) {
    const body = {};
    for (const field of form.elements) {
      if (!field.name || field.disabled || field.type === "fieldset") continue;
      if ("changesOnly" in form.dataset && !changed(field)) continue;
      if (field.type === "checkbox") body[field.name] = field.checked;
      else if (field.value === "") {
        if (form.dataset.empty === "null") body[field.name] = null;
      } else if ("cents" in field.dataset) body[field.name] = Math.round(Number(field.value) * 100);
      else if (field.type === "number") body[field.name] = Number(field.value);
      else body[field.name] = field.value;
    }
    return body;
  }

  // <form data-api="POST /v1/customers" data-then="/customers/{id}"> sends its fields to the API; on success
  // it goes to data-then (with {field} filled from the answer) or reloads.
  function bindForm(form, { toBody = formBody, onDone } = {}) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
      const [method, path] = form.dataset.api.split(" ");
      const button = form.querySelector('[type="submit"]');
      if (button) button.disabled = true;
      try {
        const answer = await api(method, path, toBody(form));
        if (onDone) return onDone(answer);
        const then = form.dataset.then;
        if (then) location.href = then.replace(/\{(\w+)\}/g, (_, key) => answer?.[key] ?? "");
        else location.reload();
      } catch (error) {
        showErrors(form, error);
      } finally {
        if (button) button.disabled = false;
      }
    });
  }

  // <button data-api="POST /v1/invoices/1/void" data-confirm="Void this invoice?"> runs one call, then reloads.
  async function runButton(button) {
    if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
    const [method, path] = button.dataset.api.split(" ");
    const body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
    button.disabled = true;
    try {
      const answer = await api(method, path, body);
      // data-then="/invoices/{id}": go to the record the call made
      if (button.dataset.then) location.href = button.dataset.then.replace(/\{(\w+)\}/g, (_, key) => answer?.[key] ?? "");
      else location.reload();
    } catch (error) {
      toast(error.message);
      button.disabled = false;
    }
  }

  async function signIn(form) {
    const error = form.querySelector(".error");
    try {
      await api("POST", "/v1/auth/login", { email: form.email.value, password: form.password.value });
      location.href = form.dataset.next || "/";
    } catch (failure) {
      error.textContent = failure.message;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-api]").forEach((form) => {
      if (!("manual" in form.dataset)) bindForm(form); // a bare data-manual attribute is ""
    });
    document.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-api]");
      if (button) runButton(button);
      if (event.target.closest("[data-sign-out]")) {
        api("POST", "/v1/auth/logout").finally(() => (location.href = "/login"));
      }
      const toggle = event.target.closest(".menu-toggle");
      if (toggle) {
        const open = toggle.getAttribute("aria-expanded") !== "true";
        toggle.setAttribute("aria-expanded", String(open));
        document.getElementById("nav").classList.toggle("open", open);
      }
    });
    const login = document.getElementById("login");
    if (login) login.addEventListener("submit", (event) => { event.preventDefault(); signIn(login); });
  });

  return { api, toast, showErrors, formBody, bindForm };
})();
