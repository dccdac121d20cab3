// Filters the sampled-differences table by kind and by text. It reads text
// and attributes only and never writes markup: the rows hold key names
// taken from the databases, so nothing here may turn them back into HTML.
(function () {
  'use strict';
  var table = document.getElementById('samples-table');
  var kind = document.getElementById('filter-kind');
  var text = document.getElementById('filter-text');
  var count = document.getElementById('samples-count');
  if (table && kind && text && count && table.tBodies.length) {
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var apply = function () {
      var k = kind.value;
      var q = text.value.toLowerCase();
      var shown = 0;
      rows.forEach(function (row) {
        var ok = (k === '' || row.getAttribute('data-kind') === k) &&
                 (q === '' || row.textContent.toLowerCase().indexOf(q) !== -1);
        row.hidden = !ok;
        if (ok) shown++;
      });
      count.textContent = shown + ' of ' + rows.length + ' shown';
    };
    kind.addEventListener('change', apply);
    text.addEventListener('input', apply);
    apply();
  }
  // Marks the page as scripted: shows the filters, and lets tests see that
  // the CSP hash admitted this script.
  document.documentElement.setAttribute('data-report-script', 'ready');
})();
