// Small behaviours htmx does not cover; no inline handlers so the CSP can forbid inline script.
(function () {
  "use strict";

  function dismissToasts(root) {
    root.querySelectorAll("[data-autodismiss]").forEach(function (toast) {
      var ms = parseInt(toast.getAttribute("data-autodismiss"), 10) || 5000;
      toast.removeAttribute("data-autodismiss");
      setTimeout(function () { toast.remove(); }, ms);
    });
  }

  // The PIN pad: on-screen keys type into the PIN box, for tablets without a keyboard.
  document.addEventListener("click", function (event) {
    var key = event.target.closest(".keypad .key");
    if (!key) return;
    var pad = key.closest(".keypad");
    var input = document.getElementById(pad.getAttribute("data-keypad-for"));
    if (!input) return;
    var value = key.getAttribute("data-key");
    if (value === "clear") input.value = "";
    else if (value === "back") input.value = input.value.slice(0, -1);
    else if (input.value.length < 8) input.value += value;
    input.focus();
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
  });

  // Lock a shared register after the configured idle time.
  function armIdleLock() {
    var seconds = parseInt(document.body.getAttribute("data-idle-lock"), 10);
    var form = document.getElementById("lock-form");
    if (!seconds || !form) return;
    var timer;
    function reset() {
      clearTimeout(timer);
      timer = setTimeout(function () { form.requestSubmit(); }, seconds * 1000);
    }
    ["pointerdown", "keydown", "touchstart"].forEach(function (name) {
      document.addEventListener(name, reset, { passive: true });
    });
    reset();
  }

  document.addEventListener("DOMContentLoaded", function () {
    dismissToasts(document);
    armIdleLock();
  });
  document.addEventListener("htmx:afterSettle", function (event) { dismissToasts(event.target); });
  document.addEventListener("htmx:oobAfterSwap", function (event) { dismissToasts(event.target); });
})();
