// The rating form, enhanced: one key per rating, "unchanged, confirm" that picks the previous
// rating and moves on to the note, and a live count in the sticky bar. The form works the
// same without this script (the server sets the previous rating of a confirmed item).
(function () {
  "use strict";
  var form = document.querySelector("form[data-rating-keys]");
  if (!form) {
    return;
  }
  form.classList.add("keys-on");
  var help = document.getElementById("rating-keys-help");
  if (help) {
    help.hidden = false;
  }
  form.querySelectorAll("input[type=radio][data-key]").forEach(function (radio) {
    radio.setAttribute("aria-keyshortcuts", radio.getAttribute("data-key"));
  });

  function isTextEntry(element) {
    var tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable) {
      return true;
    }
    return tag === "INPUT" && ["radio", "checkbox", "button", "submit"].indexOf(element.type) < 0;
  }

  function choose(radio) {
    if (!radio.checked) {
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
    }
    radio.focus();
  }

  // A key picks the item's rating while the focus is on one of its controls (never while
  // typing in the rationale); native arrow keys between the radios keep working.
  form.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || event.key.length !== 1) {
      return;
    }
    var target = event.target;
    var item = target.closest(".item");
    if (!item || isTextEntry(target)) {
      return;
    }
    var key = event.key === "\u2212" ? "-" : event.key;
    var radio = Array.prototype.find.call(
      item.querySelectorAll("input[type=radio][data-key]"),
      function (r) { return r.getAttribute("data-key") === key; }
    );
    if (radio) {
      event.preventDefault();
      choose(radio);
    }
  });

  var status = form.querySelector(".savebar .progress");
  function recount() {
    if (!status) {
      return;
    }
    var done = 0;
    form.querySelectorAll(".item").forEach(function (item) {
      if (item.querySelector("input[type=radio]:checked")) {
        done += 1;
      }
    });
    var counter = status.querySelector(".done");
    if (counter && counter.textContent !== String(done)) {
      counter.textContent = String(done);
    }
  }

  recount(); // a form shown again after an error holds what was posted, not what was saved

  form.addEventListener("change", function (event) {
    var target = event.target;
    var item = target.closest(".item");
    if (item) {
      var confirm = item.querySelector("input[type=checkbox][data-previous]");
      if (target === confirm && confirm.checked) {
        // Unchanged: the previous rating, then the note on what was checked.
        var previous = confirm.getAttribute("data-previous");
        var radio = Array.prototype.find.call(
          item.querySelectorAll("input[type=radio]"),
          function (r) { return r.value === previous; }
        );
        if (radio && !radio.checked) {
          radio.checked = true;
        }
        var note = item.querySelector("textarea");
        if (note) {
          note.focus();
        }
      } else if (confirm && target.type === "radio" && target.value !== confirm.getAttribute("data-previous")) {
        confirm.checked = false; // another rating than the previous one: no longer unchanged
      }
    }
    recount();
  });
})();
