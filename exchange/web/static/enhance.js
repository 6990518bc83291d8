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

// Optional enhancement: the entry form's repeating groups (goals, indicators, measurements,
// partners, checklist items, the project a lesson comes from) change without loading the page
// again. A button of a group is sent as it would be without JavaScript (the server changes the
// group and checks it), and only that part of the form is replaced from the answer; what was
// typed elsewhere stays as it is, the focus goes to the new field, and a screen reader hears
// that the form changed. If anything goes wrong, the form is sent the ordinary way.
(function () {
  var form = document.querySelector("form.edit-form");
  if (!form || !window.fetch || !window.FormData || !window.DOMParser || !form.closest) { return; }
  var english = document.documentElement.lang === "en";
  var status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  form.parentNode.insertBefore(status, form);

  function topLevel(element, root) {  // the part of the form (a direct child) that holds element
    while (element && element.parentNode !== root) { element = element.parentNode; }
    return element;
  }
  function sendOrdinarily(button) {
    var field = document.createElement("input");
    field.type = "hidden";
    field.name = "action";
    field.value = button.value;
    form.appendChild(field);
    form.action = button.getAttribute("formaction");
    form.submit();
  }
  form.addEventListener("click", function (event) {
    var button = event.target.closest("button[name=action]");
    var formaction = button ? button.getAttribute("formaction") || "" : "";
    var target = formaction.split("#")[1];
    if (!button || !target || !form.contains(button)) { return; }
    event.preventDefault();
    var data = new FormData(form);
    data.append("action", button.value);
    var adding = /^(add|find)-/.test(button.value);
    button.disabled = true;
    fetch(formaction.split("#")[0], { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        if (response.status !== 200 && response.status !== 400) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("form.edit-form");
        var part = fresh && topLevel(doc.getElementById(target), fresh);
        var old = part && part.id ? document.getElementById(part.id) : null;
        if (!old || topLevel(old, form) !== old) { throw new Error("no such part"); }
        var before = {};
        var known = old.querySelectorAll("[name]");
        for (var k = 0; k < known.length; k++) { before[known[k].name + "=" + known[k].value] = true; }
        old.replaceWith(document.importNode(part, true));
        var problems = document.getElementById("problems");
        var freshProblems = doc.getElementById("problems");
        if (problems) { problems.remove(); }
        if (freshProblems) { form.parentNode.insertBefore(document.importNode(freshProblems, true), form); }
        var place = document.getElementById(target) || document.getElementById(part.id);
        var fields = place.querySelectorAll("input:not([type=hidden]), textarea, select, button");
        var focus = null;
        if (adding) {  // the first field (or found result's button) that was not there before
          for (var i = 0; i < fields.length && !focus; i++) {
            if (!before[fields[i].name + "=" + fields[i].value]) { focus = fields[i]; }
          }
        }
        if (!focus) { place.setAttribute("tabindex", "-1"); focus = place; }
        focus.focus();
        status.textContent = english ? "The form was updated." : "Das Formular wurde aktualisiert.";
      })
      .catch(function () { button.disabled = false; sendOrdinarily(button); });
  });
})();
