/*
 * Charts for the operator console, drawn as SVG in the page (no script, font or style from
 * elsewhere). Every chart carries its numbers as text and in its accessible name, so it reads
 * without the picture. Counts the server suppressed below k ("fewer than 10", "withheld") are
 * drawn as an empty outline with that phrase, never as a number.
 */
(function (global) {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var INK = "#1a1a1a";
  /** Series colours: all at least 3:1 against white (non-text contrast). */
  var COLOURS = ["#1f3a5f", "#a4161a", "#7a4100", "#1e6b35"];

  function node(tag, attrs, text) {
    var n = document.createElementNS(SVG, tag);
    for (var k in attrs) n.setAttribute(k, String(attrs[k]));
    if (text !== undefined) n.textContent = text;
    return n;
  }

  /** A count from the API: a number, or a phrase when suppressed. */
  function count(v) {
    return typeof v === "number" ? { value: v, text: String(v), exact: true } : { value: 0, text: String(v), exact: false };
  }

  function svgRoot(width, height, label) {
    var svg = node("svg", { viewBox: "0 0 " + width + " " + height, width: width, height: height, role: "img", "aria-label": label });
    return svg;
  }

  function figure(caption, svg, extra) {
    var P = global.CandorPage;
    return P.el("figure", { class: "chart" }, [P.el("figcaption", { class: "muted", text: caption }), svg].concat(extra || []));
  }

  /**
   * Horizontal bars. `data`: [{label, value, text}] where `value` sets the length and `text`
   * (default: the value) is written after the bar; `exact: false` draws a dashed outline.
   */
  function bars(caption, data) {
    var max = Math.max.apply(null, data.map(function (x) { return x.value; }).concat([1]));
    var rowH = 26, labelW = 270, barW = 300, w = labelW + barW + 170, h = data.length * rowH + 4;
    var svg = svgRoot(w, h, caption + ": " + data.map(function (x) { return x.label + " " + (x.text || x.value); }).join(", "));
    data.forEach(function (x, i) {
      var y = i * rowH + 2;
      var len = x.exact === false ? 0 : Math.round(barW * x.value / max);
      svg.appendChild(node("text", { x: 0, y: y + 17, fill: INK }, x.label));
      if (x.exact === false) {
        svg.appendChild(node("rect", { x: labelW, y: y + 4, width: 24, height: 16, fill: "none", stroke: "#474747", "stroke-dasharray": "3 2" }));
        len = 24;
      } else {
        svg.appendChild(node("rect", { x: labelW, y: y + 3, width: Math.max(2, len), height: 18, fill: COLOURS[0] }));
      }
      svg.appendChild(node("text", { x: labelW + len + 8, y: y + 17, fill: INK }, x.text || String(x.value)));
    });
    return figure(caption, svg);
  }

  /**
   * Grouped columns over time. `starts`: bucket labels; `series`: [{name, values: [count from
   * the API]}]. Suppressed cells are dashed marks at the base line with their phrase as a
   * tooltip.
   */
  function columns(caption, starts, series) {
    var P = global.CandorPage;
    var cells = series.map(function (s) { return s.values.map(count); });
    var max = 1;
    cells.forEach(function (cs) { cs.forEach(function (c) { if (c.value > max) max = c.value; }); });
    var left = 44, top = 8, plotH = 160, bottom = 34;
    var groupW = Math.max(12, Math.min(40, Math.floor(720 / Math.max(1, starts.length))));
    var barW = Math.max(3, Math.floor((groupW - 2) / series.length));
    var w = left + starts.length * groupW + 8, h = top + plotH + bottom;
    var label = caption + ". " + series.map(function (s, i) {
      var shown = starts.map(function (d, j) { return cells[i][j].exact ? d + " " + cells[i][j].text : null; }).filter(Boolean);
      return s.name + ": " + (shown.length ? shown.join(", ") : "every count below k");
    }).join("; ");
    var svg = svgRoot(w, h, label);
    // Axis and a top tick with the largest value.
    svg.appendChild(node("line", { x1: left, y1: top + plotH, x2: w - 4, y2: top + plotH, stroke: "#474747" }));
    svg.appendChild(node("text", { x: 0, y: top + 12, fill: INK }, String(max)));
    svg.appendChild(node("text", { x: 0, y: top + plotH, fill: INK }, "0"));
    var every = Math.max(1, Math.ceil(starts.length / 6));
    starts.forEach(function (d, j) {
      var gx = left + j * groupW;
      series.forEach(function (s, i) {
        var c = cells[i][j];
        var x = gx + 1 + i * barW;
        var r;
        if (c.exact && c.value > 0) {
          var bh = Math.max(1, Math.round(plotH * c.value / max));
          r = node("rect", { x: x, y: top + plotH - bh, width: barW - 1, height: bh, fill: COLOURS[i % COLOURS.length] });
        } else {
          r = node("rect", { x: x, y: top + plotH - 4, width: barW - 1, height: 4, fill: "none", stroke: COLOURS[i % COLOURS.length], "stroke-dasharray": "2 1" });
        }
        r.appendChild(node("title", {}, s.name + ", " + d + ": " + c.text));
        svg.appendChild(r);
      });
      if (j % every === 0) svg.appendChild(node("text", { x: gx, y: top + plotH + 20, fill: INK }, d.slice(5)));
    });
    var legend = P.el("ul", { class: "legend" }, series.map(function (s, i) {
      return P.el("li", {}, [P.el("span", { class: "swatch swatch-" + i, "aria-hidden": "true" }), s.name]);
    }));
    return figure(caption, svg, [legend]);
  }

  /**
   * The row layout both interval charts share: one row per `rows` entry with its label on the
   * left, the row's drawing, then its numbers as text; the numbers also make the chart's
   * accessible name. `layout`: {rowH, labelW, plotW, textW}; `draw(svg, row, y)` draws one row
   * from its top `y` and returns where its text starts; `text(row)` writes the numbers and
   * `name(row)` (default: the same) says them in the accessible name.
   */
  function intervalRows(caption, rows, layout, draw, text, name) {
    name = name || text;
    var w = layout.labelW + layout.plotW + layout.textW, h = rows.length * layout.rowH + 4;
    var baseline = layout.rowH - 11;
    var svg = svgRoot(w, h, caption + ": " + rows.map(function (r) { return r.label + " " + name(r); }).join(", "));
    rows.forEach(function (r, i) {
      var y = i * layout.rowH + 2;
      svg.appendChild(node("text", { x: 0, y: y + baseline, fill: INK }, r.label));
      var textX = draw(svg, r, y);
      svg.appendChild(node("text", { x: textX, y: y + baseline, fill: INK }, text(r)));
    });
    return figure(caption, svg);
  }

  /**
   * Effects with their intervals, one row per comparison, each on its own axis centred on
   * zero (metrics have different units): the always-valid interval light, the fixed-horizon
   * interval dark, the estimate a dot. `rows`: [{label, effect, low, high, avLow, avHigh}].
   */
  function intervals(caption, rows) {
    var layout = { rowH: 30, labelW: 260, plotW: 320, textW: 190 };
    var mid = layout.labelW + layout.plotW / 2;
    return intervalRows(caption, rows, layout, function (svg, r, y) {
      var span = Math.max(Math.abs(r.avLow), Math.abs(r.avHigh), Math.abs(r.low), Math.abs(r.high), 1e-9);
      var at = function (x) { return mid + (layout.plotW / 2 - 6) * Math.max(-1, Math.min(1, x / span)); };
      svg.appendChild(node("line", { x1: mid, y1: y + 2, x2: mid, y2: y + layout.rowH - 2, stroke: "#474747" }));
      svg.appendChild(node("rect", { x: at(r.avLow), y: y + 9, width: Math.max(1, at(r.avHigh) - at(r.avLow)), height: 12, fill: "#b7c7dc" }));
      svg.appendChild(node("rect", { x: at(r.low), y: y + 12, width: Math.max(1, at(r.high) - at(r.low)), height: 6, fill: COLOURS[0] }));
      svg.appendChild(node("circle", { cx: at(r.effect), cy: y + 15, r: 4, fill: COLOURS[1] }));
      return layout.labelW + layout.plotW + 8;
    }, function (r) {
      return r.effect.toFixed(4) + " [" + r.low.toFixed(4) + ", " + r.high.toFixed(4) + "]";
    }, function (r) {
      return r.effect.toFixed(4) + " (" + r.low.toFixed(4) + " to " + r.high.toFixed(4) + ")";
    });
  }

  /**
   * Noisy estimates with their 95 % intervals, one row each. `data`: [{label, value, low,
   * high}] from a private report. The bar is the released value; the whisker spans the
   * interval, so a reader sees at once how far the number can be trusted. Negative ends
   * (noise can push a small count below zero) are drawn at zero and written as given.
   */
  function estimates(caption, data) {
    var layout = { rowH: 28, labelW: 270, plotW: 300, textW: 330 };
    var top = Math.max.apply(null, data.map(function (x) { return x.high; }).concat([1]));
    var text = function (x) { return x.value + " (95 % interval " + x.low + " to " + x.high + ")"; };
    var at = function (v) { return layout.labelW + Math.round(layout.plotW * Math.max(0, v) / top); };
    return intervalRows(caption, data, layout, function (svg, x, y) {
      var mid = y + 13;
      var bar = node("rect", { x: layout.labelW, y: y + 5, width: Math.max(2, at(x.value) - layout.labelW), height: 16, fill: COLOURS[0], "fill-opacity": "0.55" });
      bar.appendChild(node("title", {}, x.label + ": " + text(x)));
      svg.appendChild(bar);
      var whisker = node("g", { class: "interval", stroke: INK, "stroke-width": 2 });
      whisker.appendChild(node("line", { x1: at(x.low), y1: mid, x2: at(x.high), y2: mid }));
      whisker.appendChild(node("line", { x1: at(x.low), y1: mid - 6, x2: at(x.low), y2: mid + 6 }));
      whisker.appendChild(node("line", { x1: at(x.high), y1: mid - 6, x2: at(x.high), y2: mid + 6 }));
      svg.appendChild(whisker);
      return at(x.high) + 8;
    }, text);
  }

  global.CandorCharts = { bars: bars, columns: columns, count: count, intervals: intervals, estimates: estimates };
})(window);
