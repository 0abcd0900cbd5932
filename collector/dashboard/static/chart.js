// SPDX-License-Identifier: Apache-2.0
// llmledger's chart module: stacked column charts over time and horizontal bars, drawn as inline SVG and HTML
// with no dependency, so the dashboard works offline and in a self-contained HTML file. Written for llmledger
// (Apache-2.0, like the rest of the package). Every text goes through textContent: labels come from spans.
"use strict";
var LLChart = (function () {
  var SVG = "http://www.w3.org/2000/svg";

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    for (var key in attrs) node.setAttribute(key, String(attrs[key]));
    if (parent) parent.appendChild(node);
    return node;
  }

  function niceMax(value) {
    if (!(value > 0)) return 1;
    var power = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * power >= value) return steps[i] * power;
    return 10 * power;
  }

  // columns(container, {labels: [..], series: [{name, color, values: [..]}], format: fn, labelFormat: fn})
  // One column per label, the series stacked; a <title> on each segment is its tooltip.
  function columns(container, spec) {
    var width = 1100, height = 240, left = 64, right = 8, top = 10, bottom = 26;
    var n = spec.labels.length;
    var totals = spec.labels.map(function (_, i) {
      return spec.series.reduce(function (sum, s) { return sum + (s.values[i] || 0); }, 0);
    });
    var max = niceMax(Math.max.apply(null, totals.concat([0])));
    var svg = el("svg", {viewBox: "0 0 " + width + " " + height, class: "ll-chart", role: "img",
                         "aria-label": spec.title || "chart"}, container);
    var plotW = width - left - right, plotH = height - top - bottom;
    for (var t = 0; t <= 4; t++) {
      var y = top + plotH - (plotH * t) / 4;
      el("line", {x1: left, x2: width - right, y1: y, y2: y, class: "ll-grid"}, svg);
      var tick = el("text", {x: left - 6, y: y + 4, class: "ll-tick", "text-anchor": "end"}, svg);
      tick.textContent = spec.format((max * t) / 4);
    }
    var step = plotW / Math.max(n, 1), barW = Math.max(1, step * 0.72);
    for (var i = 0; i < n; i++) {
      var x = left + i * step + (step - barW) / 2, base = top + plotH;
      spec.series.forEach(function (s) {
        var v = s.values[i] || 0;
        if (v <= 0) return;
        var h = (plotH * v) / max;
        base -= h;
        var rect = el("rect", {x: x, y: base, width: barW, height: Math.max(h, 0.5), fill: s.color,
                               class: "ll-bar"}, svg);
        el("title", {}, rect).textContent = spec.labelFormat(spec.labels[i]) + " · " + s.name + ": " + spec.format(v);
      });
    }
    var marks = n <= 1 ? [0] : [0, Math.floor((n - 1) / 2), n - 1];
    marks.forEach(function (i, k) {
      if (i >= n) return;
      var anchor = k === 0 ? "start" : k === marks.length - 1 ? "end" : "middle";
      var x = k === 0 ? left : k === marks.length - 1 ? width - right : left + i * step + step / 2;
      el("text", {x: x, y: height - 8, class: "ll-tick", "text-anchor": anchor}, svg).textContent =
        spec.labelFormat(spec.labels[i]);
    });
    if (spec.series.length > 1) legend(container, spec.series);
    return svg;
  }

  function legend(container, series) {
    var box = document.createElement("div");
    box.className = "ll-legend";
    series.forEach(function (s) {
      var item = document.createElement("span");
      var swatch = document.createElement("i");
      swatch.style.background = s.color;
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(s.name));
      box.appendChild(item);
    });
    container.appendChild(box);
  }

  // bars(container, [{label, value, note, text}], format): a ranked list with a bar proportional to each value,
  // shown as format(value), or as `text` where a row gives one (a value that is not a number to show).
  function bars(container, rows, format) {
    var max = Math.max.apply(null, rows.map(function (r) { return r.value; }).concat([0])) || 1;
    var list = document.createElement("div");
    list.className = "ll-bars";
    rows.forEach(function (r) {
      var row = document.createElement("div");
      row.className = "ll-bar-row";
      var label = document.createElement("span");
      label.className = "ll-bar-label";
      label.textContent = r.label === "" ? "(none)" : r.label;
      label.title = label.textContent;
      var track = document.createElement("span");
      track.className = "ll-bar-track";
      var fill = document.createElement("span");
      fill.className = "ll-bar-fill";
      fill.style.width = Math.max(0.5, (100 * Math.max(r.value, 0)) / max) + "%";
      track.appendChild(fill);
      var value = document.createElement("span");
      value.className = "ll-bar-value";
      value.textContent = (r.text !== undefined ? r.text : format(r.value)) + (r.note ? " · " + r.note : "");
      value.title = value.textContent; // the whole of it, where the column cuts it short
      row.appendChild(label);
      row.appendChild(track);
      row.appendChild(value);
      list.appendChild(row);
    });
    container.appendChild(list);
    return list;
  }

  return {columns: columns, bars: bars, niceMax: niceMax};
})();
