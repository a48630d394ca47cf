// The quote editor: lines from the service catalogue or typed in, add-ons and Good/Better/Best options,
// and totals priced live by the server (POST /v1/quotes/price: the same rules a saved quote gets).
"use strict";

(() => {
  const form = document.getElementById("quote-editor");
  if (!form) return;
  const data = JSON.parse(document.getElementById("quote-data").textContent);
  const rows = form.querySelector("#lines tbody");
  const template = document.getElementById("line-template");
  const catalogue = new Map(data.catalogue.map((service) => [service.id, service]));
  const format = new Intl.NumberFormat("en-US", { style: "currency", currency: data.currency.toUpperCase() });
  const money = (cents) => format.format(cents / 100);

  // Inputs are named after the API's fields (line_items.0.quantity) so 422 errors land next to them.
  function renumber() {
    [...rows.children].forEach((row, i) => {
      row.querySelectorAll("[data-field]").forEach((input) => (input.name = `line_items.${i}.${input.dataset.field}`));
      row.querySelector(".remove").setAttribute("aria-label", `Remove line ${i + 1}`);
    });
    form.querySelector("#no-lines").hidden = rows.children.length > 0;
  }

  function addLine(line) {
    const row = template.content.firstElementChild.cloneNode(true);
    const field = (name) => row.querySelector(`[data-field="${name}"]`);
    row.dataset.serviceId = line.service_id || "";
    row.dataset.selected = String(line.selected ?? true);
    field("description").value = line.description || "";
    field("quantity").value = line.quantity ?? 1;
    field("unit_price_cents").value = line.unit_price_cents == null ? "" : (line.unit_price_cents / 100).toFixed(2);
    field("taxable").checked = line.taxable ?? true;
    field("optional").checked = Boolean(line.optional);
    field("option_group").value = line.option_group || "";
    rows.appendChild(row);
    renumber();
    return row;
  }

  function readLine(row) {
    const field = (name) => row.querySelector(`[data-field="${name}"]`);
    const price = field("unit_price_cents").value;
    const line = {
      service_id: row.dataset.serviceId || null,
      description: field("description").value.trim() || null,
      unit_price_cents: price === "" ? null : Math.round(Number(price) * 100),
      taxable: field("taxable").checked,
      optional: field("optional").checked,
      option_group: field("option_group").value || null,
      selected: row.dataset.selected !== "false",
    };
    if (field("quantity").value !== "") line.quantity = field("quantity").value;
    return line;
  }

  const lines = () => [...rows.children].map(readLine);

  let asked = 0; // answers can arrive out of order: only the latest question's answer is shown
  let timer;
  function repriceSoon() {
    clearTimeout(timer);
    timer = setTimeout(reprice, 250);
  }

  async function reprice() {
    const question = ++asked;
    try {
      const price = await NexJob.api("POST", "/v1/quotes/price", { quote_id: data.quote_id, line_items: lines() });
      if (question !== asked) return;
      NexJob.showErrors(form, { detail: [] });
      showPrice(price);
    } catch (error) {
      if (question === asked) NexJob.showErrors(form, error);
    }
  }

  function showPrice(price) {
    [...rows.children].forEach((row, i) => (row.querySelector(".amount").textContent = money(price.line_amounts_cents[i])));
    const rate = (price.tax_rate_bps / 100).toFixed(2).replace(/\.?0+$/, "");
    form.querySelector("#tax-label").textContent = `Tax (${rate}%)`;
    form.querySelector("#subtotal").textContent = money(price.subtotal_cents);
    form.querySelector("#tax").textContent = money(price.tax_cents);
    form.querySelector("#total").textContent = money(price.total_cents);
    const options = form.querySelector("#option-totals");
    options.replaceChildren();
    for (const option of price.options) {
      const term = document.createElement("dt");
      term.textContent = `With ${option.option_group[0].toUpperCase()}${option.option_group.slice(1)}`;
      const value = document.createElement("dd");
      value.textContent = money(option.total_cents);
      options.append(term, value);
    }
    form.querySelector("#options").hidden = price.options.length === 0;
    form.querySelector("#total-label").textContent = price.options.length ? "Total before an option" : "Total";
  }

  function body() {
    const value = (name) => form.elements[name]?.value.trim() ?? "";
    const quote = { title: value("title"), notes: value("notes") || null, line_items: lines() };
    if (value("expires_on")) quote.expires_on = value("expires_on");
    if (!data.quote_id) quote.customer_id = value("customer_id") || null;
    return quote;
  }

  // Saves the draft (creating it the first time) and answers its id, or null when the API refused.
  async function save() {
    try {
      const saved = data.quote_id
        ? await NexJob.api("PATCH", `/v1/quotes/${data.quote_id}`, body())
        : await NexJob.api("POST", "/v1/quotes", body());
      NexJob.showErrors(form, { detail: [] });
      return saved.id;
    } catch (error) {
      NexJob.showErrors(form, error);
      return null;
    }
  }

  function customerName() {
    const select = form.querySelector("select[name=customer_id]");
    return form.dataset.customerName || select?.selectedOptions[0]?.textContent || "the customer";
  }

  async function withButtonsDisabled(work) {
    const buttons = form.querySelectorAll("button");
    buttons.forEach((button) => (button.disabled = true));
    try {
      await work();
    } finally {
      buttons.forEach((button) => (button.disabled = false));
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    withButtonsDisabled(async () => {
      const id = await save();
      if (id && !data.quote_id) location.href = `/quotes/${id}`;
      else if (id) NexJob.toast("Draft saved", "ok");
    });
  });

  form.querySelector("#save-send").addEventListener("click", () => {
    if (!confirm(`Email this quote to ${customerName()} (and text it if they agreed to texts)?`)) return;
    withButtonsDisabled(async () => {
      const id = await save();
      if (!id) return;
      data.quote_id = id; // a second try after a failed send must not create another draft
      try {
        await NexJob.api("POST", `/v1/quotes/${id}/send`);
        location.href = `/quotes/${id}`;
      } catch (error) {
        NexJob.toast(`Saved, but not sent: ${error.message}`);
      }
    });
  });

  form.querySelector("#add-service").addEventListener("click", () => {
    const service = catalogue.get(form.querySelector("#catalogue").value);
    if (!service) return;
    const row = addLine({ service_id: service.id, description: service.name, unit_price_cents: service.price_cents, taxable: service.taxable });
    row.querySelector('[data-field="quantity"]').focus();
    repriceSoon();
  });

  form.querySelector("#add-custom").addEventListener("click", () => {
    addLine({}).querySelector('[data-field="description"]').focus();
    repriceSoon();
  });

  rows.addEventListener("click", (event) => {
    const remove = event.target.closest(".remove");
    if (!remove) return;
    const row = remove.closest("tr");
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    renumber();
    (next?.querySelector('[data-field="description"]') || form.querySelector("#add-custom")).focus();
    repriceSoon();
  });

  rows.addEventListener("change", (event) => {
    const row = event.target.closest("tr");
    const field = event.target.dataset.field;
    // The API's rule: an item in an option group is optional; leaving "optional" leaves the group.
    if (field === "option_group" && event.target.value) row.querySelector('[data-field="optional"]').checked = true;
    if (field === "optional" && !event.target.checked) row.querySelector('[data-field="option_group"]').value = "";
  });
  rows.addEventListener("input", repriceSoon);
  rows.addEventListener("change", repriceSoon);

  data.lines.forEach(addLine);
  renumber();
  reprice();
})();
