"use strict";
(function () {
  var table = document.getElementById("images-table");
  var box = document.getElementById("filter-box");
  if (!table || !box) { return; }
  var input = document.getElementById("filter");
  var count = document.getElementById("filter-count");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  function apply() {
    var q = input.value.toLowerCase();
    var shown = 0;
    rows.forEach(function (r) {
      var hit = q === "" || r.textContent.toLowerCase().indexOf(q) !== -1;
      r.hidden = !hit;
      if (hit) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " images";
  }
  input.addEventListener("input", apply);
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    th.addEventListener("click", function () {
      var asc = th.getAttribute("data-sort") !== "asc";
      th.setAttribute("data-sort", asc ? "asc" : "desc");
      var numeric = th.classList.contains("n");
      rows.sort(function (a, b) {
        var x = a.cells[col].textContent, y = b.cells[col].textContent;
        var c = numeric ? (Number(x) - Number(y)) : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  box.hidden = false;
  apply();
})();
