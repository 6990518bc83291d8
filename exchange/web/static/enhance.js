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
