/* lgcloud counter screen: keyboard helpers and the PDF preview (served by lgcloud itself). */
(function () {
  "use strict";

  // ↓ from the search box goes to the first result; ↑/↓ move between results.
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (!(t instanceof HTMLElement)) return;
    var links = Array.prototype.slice.call(document.querySelectorAll("#results a.result-link"));
    if (t.id === "q" && e.key === "ArrowDown" && links.length) {
      e.preventDefault();
      links[0].focus();
    } else if (t.id === "q" && e.key === "Escape") {
      t.value = "";
      t.dispatchEvent(new Event("input", { bubbles: true }));
    } else if (t.classList.contains("result-link") && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      var i = links.indexOf(t) + (e.key === "ArrowDown" ? 1 : -1);
      if (i < 0) document.getElementById("q").focus();
      else if (i < links.length) links[i].focus();
    }
  });

  // 印刷: print the PDF shown in the preview frame.
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!(t instanceof HTMLElement) || !t.dataset.printFrame) return;
    var frame = document.getElementById(t.dataset.printFrame);
    if (frame && frame.contentWindow) {
      frame.contentWindow.focus();
      frame.contentWindow.print();
    }
  });

  // Mark the preview frame loaded (tests and the benchmark wait for it).
  document.addEventListener("load", function (e) {
    var t = e.target;
    if (t instanceof HTMLIFrameElement && t.id === "pdf-preview") t.dataset.loaded = "true";
  }, true);

  // After issuing, bring the preview into view and put the focus on 印刷.
  document.addEventListener("htmx:afterSwap", function (e) {
    var t = e.detail && e.detail.target;
    if (!t || t.id !== "preview") return;
    var section = document.getElementById("preview");
    if (!section) return;
    section.scrollIntoView({ block: "start" });
    var button = section.querySelector("[data-print-frame]") || section.querySelector(".error");
    if (button) { if (!button.hasAttribute("tabindex") && button.tagName !== "BUTTON") button.setAttribute("tabindex", "-1"); button.focus(); }
  });
})();
