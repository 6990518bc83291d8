// Optional enhancement: a "print" button on entry pages. Everything works without it.
(function () {
  var facts = document.querySelector(".entry-facts");
  if (!facts || !window.print) { return; }
  var button = document.createElement("button");
  button.type = "button";
  button.className = "secondary print-button";
  button.textContent = document.documentElement.lang === "en" ? "Print this entry" : "Diesen Eintrag drucken";
  button.addEventListener("click", function () { window.print(); });
  facts.appendChild(button);
})();

// Optional enhancement: on a phone the search filters start folded, so that the first result
// is in view; the summary opens them. Without JavaScript they stay open.
(function () {
  var filters = document.querySelector("details.facet-details");
  if (!filters || !window.matchMedia) { return; }
  if (window.matchMedia("(max-width: 40rem)").matches) { filters.removeAttribute("open"); }
})();
