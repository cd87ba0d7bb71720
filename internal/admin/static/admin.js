// Herald admin: the two live parts of the UI. Everything else works
// without this script.
(function () {
  'use strict';

  function fmt(v) { return typeof v === 'number' ? v.toLocaleString('en') : String(v); }

  // Compose and the segment form: count the audience whenever the target
  // (or the rules) change.
  document.querySelectorAll('form[data-count-url]').forEach(function (form) {
    var out = form.querySelector('output[data-count]');
    var url = form.getAttribute('data-count-url');
    var timer = null, seq = 0;
    var update = function () {
      var mine = ++seq;
      var body = new URLSearchParams(new FormData(form));
      fetch(url, { method: 'POST', body: body, credentials: 'same-origin' })
        .then(function (r) { return r.json(); })
        .then(function (j) {
          if (mine !== seq) { return; }
          if (typeof j.count === 'number') {
            out.textContent = fmt(j.count) + (j.count === 1 ? ' subscriber' : ' subscribers');
            out.classList.remove('bad');
          } else {
            out.textContent = j.error || 'The target cannot be counted.';
            out.classList.add('bad');
          }
          out.setAttribute('data-count', typeof j.count === 'number' ? String(j.count) : '');
        })
        .catch(function () {});
    };
    var changed = function (e) {
      if (!e.target.closest('[data-target]')) { return; }
      clearTimeout(timer);
      timer = setTimeout(update, 250);
    };
    form.addEventListener('input', changed);
    form.addEventListener('change', changed);
  });

  // Message page: poll the counters and the chart until the send is over.
  var live = document.querySelector('[data-stats-url]');
  if (live && live.getAttribute('data-final') !== 'true') {
    var statsURL = live.getAttribute('data-stats-url');
    var chartURL = live.getAttribute('data-chart-url');
    var poll = function () {
      fetch(statsURL, { credentials: 'same-origin' })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (s) {
          Object.keys(s).forEach(function (k) {
            document.querySelectorAll('[data-counter="' + k + '"]').forEach(function (el) {
              el.textContent = fmt(s[k]);
              if (k === 'state') { el.className = 'state state-' + s.state; }
            });
          });
          return fetch(chartURL, { credentials: 'same-origin' })
            .then(function (r) { return r.text(); })
            .then(function (html) {
              var chart = document.getElementById('chart');
              var open = chart && chart.querySelector('details[open]') !== null;
              if (chart) { chart.outerHTML = html; }
              if (open) { document.querySelectorAll('#chart details').forEach(function (d) { d.open = true; }); }
              if (s.final) {
                live.setAttribute('data-final', 'true');
                document.querySelectorAll('[data-while-pending]').forEach(function (el) { el.hidden = true; });
              } else {
                setTimeout(poll, 1500);
              }
            });
        })
        .catch(function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 1000);
  }
})();
