// Small behaviours htmx does not cover; no inline handlers so the CSP can forbid inline script.
(function () {
  "use strict";

  // Lets the CSS hide buttons that only a page without JavaScript needs (e.g. "Update").
  document.documentElement.classList.add("js");

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

  // Lock a shared register after the configured idle time. The server keeps its own idle clock,
  // so someone typing in a long form (which sends nothing) tells it now and then.
  function armIdleLock() {
    var body = document.body;
    var seconds = parseInt(body.getAttribute("data-idle-lock"), 10);
    var form = document.getElementById("lock-form");
    if (!seconds || !form) return;
    var activityUrl = body.getAttribute("data-activity-url");
    var every = (parseInt(body.getAttribute("data-activity-every"), 10) || 60) * 1000;
    var told = Date.now();
    var timer;
    function tellServer() {
      if (!activityUrl || Date.now() - told < every) return;
      told = Date.now();
      var headers = JSON.parse(body.getAttribute("hx-headers") || "{}");
      fetch(activityUrl, { method: "POST", headers: headers, credentials: "same-origin", redirect: "manual" });
    }
    function reset() {
      clearTimeout(timer);
      timer = setTimeout(function () { form.requestSubmit(); }, seconds * 1000);
      tellServer();
    }
    ["pointerdown", "keydown", "touchstart"].forEach(function (name) {
      document.addEventListener(name, reset, { passive: true });
    });
    reset();
  }

  // Menu filters: leave empty fields out of the pushed URL so it stays short and shareable.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (event.detail.verb !== "get" || !elt.closest || !elt.closest("[data-prune-empty]")) return;
    var params = event.detail.parameters;
    Object.keys(params).forEach(function (name) {
      if (params[name] === "") delete params[name];
    });
  });

  // Register: a license scanner types many lines fast; submit once it has been quiet a moment.
  var scanTimer;
  document.addEventListener("input", function (event) {
    var box = event.target;
    if (box.matches("textarea[data-scan-submit]")) {
      clearTimeout(scanTimer);
      scanTimer = setTimeout(function () {
        if (box.value.trim().length >= 20 && box.form) box.form.requestSubmit();
      }, 350);
    }
    if (box.closest("[data-pay-form]")) showChange(box.closest("[data-pay-form]"));
    if (box.matches("[data-denomination]")) showCount(box.form);
  });

  // Money read and written as models/units.py does (parse_money, money), in whole cents without
  // floating point; tests/test_units.py runs both here and holds them to the same answers.
  function cents(text) {
    var plain = (text || "").trim().replace(/^\$/, "").replace(/,/g, "");
    var match = /^(-?)(\d*)(?:\.(\d*))?$/.exec(plain);
    if (!match || !(match[2] || match[3])) return null;
    var whole = match[2].replace(/^0+/, "");
    var fraction = (match[3] || "").replace(/0+$/, "");
    if ((match[1] && (whole || fraction)) || fraction.length > 2 || whole.length > 13) return null;
    return parseInt(whole || "0", 10) * 100 + parseInt((fraction + "00").slice(0, 2), 10);
  }
  function money(value) {
    var sign = value < 0 ? "-" : "";
    var rest = Math.abs(value) % 100;
    var dollars = String((Math.abs(value) - rest) / 100).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + "$" + dollars + "." + String(rest).padStart(2, "0");
  }
  function showChange(form) {
    var total = parseInt(document.getElementById("total-due").getAttribute("data-cents"), 10);
    var cash = form.querySelector("[name=cash_given]");
    var debit = cents(form.querySelector("[name=debit]").value) || 0;
    var given = cents(cash.value) || 0;
    var change = given - Math.max(total - debit, 0);
    form.querySelector("[data-change-due]").textContent = money(given && change > 0 ? change : 0);
  }
  function showCount(form) {
    var sum = 0;
    form.querySelectorAll("[data-denomination]").forEach(function (input) {
      var count = parseInt(input.value, 10);
      if (count > 0) sum += count * parseInt(input.getAttribute("data-denomination"), 10);
    });
    form.querySelector("[data-count-total]").textContent = money(sum);
  }

  document.addEventListener("click", function (event) {
    var fill = event.target.closest("[data-fill]");
    if (fill) {
      var input = document.getElementById(fill.getAttribute("data-fill"));
      input.value = fill.getAttribute("data-amount");
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }
    if (event.target.closest("[data-print]")) window.print();
    var close = event.target.closest("[data-close-results]");
    if (close) {
      var search = document.getElementById(close.getAttribute("data-close-results"));
      var results = close.closest(".product-results");
      search.value = "";
      results.classList.remove("is-open");
      results.replaceChildren();
      document.getElementById("tag-scan").focus();
    }
  });

  // After a scan the box is cleared and ready for the next tag; the cart keeps the focus away
  // from buttons that were swapped out, so the scanner always types into the scan box.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form.matches && form.matches("form[data-scan-form]")) {
      form.reset();
      form.querySelector("input[name=tag]").focus();
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "cart") return;
    var active = document.activeElement;
    var scan = document.getElementById("tag-scan");
    if (scan && (!active || active === document.body || !document.body.contains(active))) scan.focus();
  });

  // A manager's approval: bring its whole form (the PIN, its message, Apply) into view.
  function showApproval(root) {
    var approval = root.querySelector && root.querySelector(".approval");
    if (approval) approval.closest("form").scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("htmx:afterSettle", function (event) { showApproval(event.target); });

  document.addEventListener("DOMContentLoaded", function () {
    dismissToasts(document);
    armIdleLock();
    showApproval(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) { dismissToasts(event.target); });
  document.addEventListener("htmx:oobAfterSwap", function (event) { dismissToasts(event.target); });
})();
