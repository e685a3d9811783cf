// GRODT dashboard controls: pause and resume ask for the control token every time and send
// it as a bearer token; it is never stored, so a shared screen does not keep it.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);

  function open(action, onDone) {
    const dialog = $("control-dialog");
    $("control-action").textContent = action === "pause" ? "Pause new entries" : "Resume trading";
    $("control-submit").textContent = action;
    $("control-token").value = "";
    $("control-error").textContent = "";
    dialog.dataset.action = action;
    dialog.showModal();
    $("control-token").focus();
    dialog.onDone = onDone;
  }

  async function send(event) {
    event.preventDefault();
    const dialog = $("control-dialog");
    const action = dialog.dataset.action;
    const token = $("control-token").value.trim();
    if (!token) {
      $("control-error").textContent = "enter the control token (the file GRODT_CONTROL_TOKEN_FILE points at)";
      return;
    }
    const body = { reason: $("control-reason").value.trim() };
    const by = $("control-by").value.trim();
    if (by) body.by = by;
    let response;
    try {
      response = await fetch("api/v1/control/" + action, {
        method: "POST", cache: "no-store", credentials: "same-origin",
        headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (err) {
      $("control-error").textContent = "the daemon did not answer: " + err.message;
      return;
    }
    $("control-token").value = "";
    if (!response.ok) {
      const answer = await response.json().catch(() => ({}));
      $("control-error").textContent = (answer.detail || "refused") + " (HTTP " + response.status + ")";
      return;
    }
    const outcome = await response.json();
    dialog.close();
    $("control-outcome").textContent = action + (outcome.durable ? " recorded" : " applied, NOT recorded: " + outcome.detail);
    if (dialog.onDone) dialog.onDone();
  }

  function init(onDone) {
    $("pause-button").addEventListener("click", () => open("pause", onDone));
    $("resume-button").addEventListener("click", () => open("resume", onDone));
    $("control-form").addEventListener("submit", send);
    $("control-cancel").addEventListener("click", () => $("control-dialog").close());
  }

  window.GRODT = window.GRODT || {};
  window.GRODT.control = { init };
})();
