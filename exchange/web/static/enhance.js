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

// Optional enhancement: topics filter while one types, on the topics page (a topic stays when
// it or a narrower topic matches) and in the entry form's list of topics. Without JavaScript
// the topics page filters on submit and the form shows every topic.
(function () {
  var english = document.documentElement.lang === "en";
  function matches(text, needle) { return text.toLowerCase().indexOf(needle) !== -1; }
  var tree = document.querySelector(".topic-tree");
  var field = document.getElementById("topic-q");
  if (tree && field) {
    var none = document.querySelector(".topic-none");
    var filterTree = function () {
      var needle = field.value.trim().toLowerCase();
      var shown = 0;
      var items = tree.querySelectorAll("li");
      for (var i = items.length - 1; i >= 0; i--) {  // children before their parents
        var li = items[i];
        var hit = !needle || matches(li.getAttribute("data-labels") || "", needle) ||
          li.querySelector("li:not([hidden])") !== null;
        li.hidden = !hit;
        if (hit) { shown++; }
      }
      if (none) { none.hidden = shown > 0; }
    };
    field.addEventListener("input", filterTree);
  }
  var grid = document.querySelector(".topic-grid");
  if (grid) {
    var label = document.createElement("label");
    label.htmlFor = "topic-grid-filter";
    label.textContent = english ? "Filter topics" : "Themen filtern";
    var input = document.createElement("input");
    input.type = "search";
    input.id = "topic-grid-filter";
    input.autocomplete = "off";
    var box = document.createElement("div");
    box.className = "field topic-grid-filter";
    box.appendChild(label);
    box.appendChild(input);
    grid.parentNode.insertBefore(box, grid);
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      var checks = grid.querySelectorAll(".check");
      for (var i = 0; i < checks.length; i++) {
        var box2 = checks[i].querySelector("input");
        checks[i].hidden = !!needle && !(box2 && box2.checked) && !matches(checks[i].textContent, needle);
      }
    });
    input.addEventListener("keydown", function (event) {  // Enter filters; it does not send the form
      if (event.key === "Enter") { event.preventDefault(); }
    });
  }
})();
