// duetrack's own small script. Every page works without it; it only adds
// conveniences: confirmation before destructive actions, and filling an
// amount from a button.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-fill-amount]");
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-target"));
    if (input) {
      input.value = button.getAttribute("data-fill-amount");
      input.focus();
      event.preventDefault();
    }
  });
})();
