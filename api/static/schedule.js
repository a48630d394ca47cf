// Scheduling jobs from the office: times are typed on the company's clock (whatever the browser's own
// time zone is) and sent with that zone's offset (forms with `data-zoned`, and the reschedule form); the
// technician select sends null for "Nobody".
"use strict";

(() => {
  // Minutes the zone is ahead of UTC at the instant `utcMillis`.
  function offsetMinutes(utcMillis, timeZone) {
    const format = new Intl.DateTimeFormat("en-US", {
      timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    const parts = Object.fromEntries(format.formatToParts(new Date(utcMillis)).map((p) => [p.type, p.value]));
    const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
    return Math.round((asUtc - utcMillis) / 60000);
  }

  // "2026-12-01T09:00" on `timeZone`'s clock → "2026-12-01T09:00:00-06:00".
  function zonedIso(local, timeZone) {
    const [day, clock] = local.split("T");
    const [year, month, date] = day.split("-").map(Number);
    const [hour, minute] = clock.split(":").map(Number);
    const wall = Date.UTC(year, month - 1, date, hour, minute);
    // The offset at the wall time read as UTC is a guess; the offset at the moment it names is the answer
    // (they differ only within hours of a DST change).
    const offset = offsetMinutes(wall - offsetMinutes(wall, timeZone) * 60000, timeZone);
    const sign = offset < 0 ? "-" : "+";
    const hours = String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0");
    const minutes = String(Math.abs(offset) % 60).padStart(2, "0");
    return `${day}T${clock.slice(0, 5)}:00${sign}${hours}:${minutes}`;
  }

  // The form's fields as formBody gives them, its date-and-time fields read on the company's clock.
  function zonedBody(form) {
    const body = NexJob.formBody(form);
    form.querySelectorAll('input[type="datetime-local"]').forEach((field) => {
      if (field.name in body) body[field.name] = zonedIso(field.value, form.dataset.timezone);
    });
    return body;
  }

  // A new start alone moves the whole visit (the API keeps its length): send the end only when it was changed.
  function rescheduleBody(form) {
    const zone = form.dataset.timezone;
    const start = form.elements.scheduled_start;
    const end = form.elements.scheduled_end;
    const body = { scheduled_start: zonedIso(start.value, zone) };
    if (end.value && (end.value !== end.defaultValue || !start.defaultValue)) {
      body.scheduled_end = zonedIso(end.value, zone);
    }
    return body;
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-reschedule]").forEach((form) => {
      NexJob.bindForm(form, { toBody: rescheduleBody, onDone: () => location.reload() });
    });
    document.querySelectorAll("form[data-zoned]").forEach((form) => NexJob.bindForm(form, { toBody: zonedBody }));
    document.querySelectorAll("form[data-reassign]").forEach((form) => {
      NexJob.bindForm(form, {
        toBody: (f) => ({ assigned_user_id: f.elements.assigned_user_id.value || null }),
        onDone: () => location.reload(),
      });
    });
  });

})();
