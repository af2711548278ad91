// The dashboard's behaviour: one live stream per page (Server-Sent Events) that tells every
// panel to reload when the projection moves, and the charts drawn from the rows each panel
// carries. Nothing here reaches outside this server.
(function () {
  "use strict";
  var REFRESH_MIN_MS = 2000; // at most one reload of the panels per two seconds
  var lastRefresh = 0, pending = null;

  function refresh() {
    var wait = REFRESH_MIN_MS - (Date.now() - lastRefresh);
    if (wait > 0) {
      if (!pending) pending = setTimeout(function () { pending = null; refresh(); }, wait);
      return;
    }
    lastRefresh = Date.now();
    htmx.trigger(document.body, "fq:refresh");
  }

  function connect() {
    var badge = document.getElementById("live");
    var source = new EventSource("/api/v1/live");
    var first = true;
    source.addEventListener("position", function (e) {
      var data = JSON.parse(e.data);
      document.body.dataset.position = data.position;
      if (badge) {
        badge.classList.toggle("stale", !!data.stale);
        badge.title = data.stale ? "数据滞后" : "实时更新";
      }
      document.querySelectorAll(".fresh").forEach(function (el) {
        el.classList.toggle("stale", !!data.stale);
      });
      if (first) { first = false; return; } // the page was just drawn from this position
      refresh();
    });
    source.onerror = function () { if (badge) badge.classList.add("off"); };
    source.onopen = function () { if (badge) badge.classList.remove("off"); };
  }

  var charts = {};
  var builders = {};

  builders.funnel = function (el) {
    var rows = JSON.parse(el.dataset.rows);
    return {
      tooltip: { trigger: "item" },
      series: [{
        type: "funnel", sort: "none", left: "5%", width: "70%", minSize: "15%",
        label: { formatter: "{b}: {c}" },
        data: rows.map(function (r) { return { name: r.label, value: r.count }; })
      }]
    };
  };

  builders.trend = function (el) {
    var rows = JSON.parse(el.dataset.rows), series = JSON.parse(el.dataset.series);
    return {
      tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 50, right: 20, top: 30, bottom: 30 },
      xAxis: { type: "category", data: rows.map(function (r) { return r.day.slice(5); }) },
      yAxis: { type: "value" },
      series: series.map(function (s) {
        return { name: s.name, type: "line", showSymbol: false,
                 data: rows.map(function (r) { return r[s.metric]; }) };
      })
    };
  };

  // Rows name their bar by label (or name); data-scale turns a fraction into a percentage.
  builders.bar = function (el) {
    var rows = JSON.parse(el.dataset.rows), scale = Number(el.dataset.scale || 1);
    return {
      tooltip: { trigger: "axis" }, grid: { left: 110, right: 40, top: 10, bottom: 20 },
      xAxis: { type: "value" },
      yAxis: { type: "category", inverse: true,
               data: rows.map(function (r) { return r.label !== undefined ? r.label : r.name; }) },
      series: [{ type: "bar", label: { show: true, position: "right" },
                 data: rows.map(function (r) {
                   return r.value === null ? null : Math.round(r.value * scale * 100) / 100;
                 }) }]
    };
  };

  // One bar per row, stacked by the counts of each label (e.g. lateness buckets), in order.
  builders.stacked = function (el) {
    var rows = JSON.parse(el.dataset.rows), labels = JSON.parse(el.dataset.labels);
    var colours = ["#fdd49e", "#fdae61", "#f46d43", "#d73027", "#a50026"];
    return {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } }, legend: { top: 0 },
      grid: { left: 110, right: 30, top: 30, bottom: 20 },
      xAxis: { type: "value" },
      yAxis: { type: "category", inverse: true, data: rows.map(function (r) { return r.name; }) },
      series: labels.map(function (label, i) {
        return { name: label + " 工时", type: "bar", stack: "late",
                 itemStyle: { color: colours[i % colours.length] },
                 data: rows.map(function (r) { return r.counts[i]; }) };
      })
    };
  };

  builders.wordcloud = function (el) {
    var rows = JSON.parse(el.dataset.rows);
    return {
      tooltip: {},
      series: [{
        type: "wordCloud", shape: "circle", sizeRange: [12, 52], rotationRange: [0, 0],
        gridSize: 6, textStyle: { fontFamily: "Noto Sans CJK SC, sans-serif" },
        data: rows.map(function (r) { return { name: r.word, value: r.count }; })
      }]
    };
  };

  // Map shapes are registered once per level and scope under a name the panel gives.
  builders.map = function (el) {
    var geo = JSON.parse(el.dataset.geo), name = el.dataset.mapName;
    echarts.registerMap(name, geo);
    var rows = JSON.parse(el.dataset.rows || "[]");
    var points = JSON.parse(el.dataset.points || "[]");
    var values = rows.map(function (r) { return r.value; }).filter(function (v) { return v !== null; });
    var series = [{
      type: "map", map: name, roam: true, name: el.dataset.kpiLabel || "",
      emphasis: { label: { show: false } }, itemStyle: { borderColor: "#5b6b7c", borderWidth: 0.4 },
      data: rows.map(function (r) { return { name: r.code, value: r.value, label: r.name }; })
    }];
    var option = {
      tooltip: { formatter: function (p) {
        var d = p.data || {}; return (d.label || p.name) + (p.value !== undefined && !isNaN(p.value) ? "：" + p.value : "");
      } },
      visualMap: { min: values.length ? Math.min.apply(null, values) : 0,
                   max: values.length ? Math.max.apply(null, values) : 1,
                   calculable: true, left: 10, bottom: 10,
                   inRange: { color: ["#e0f3f8", "#abd9e9", "#fdae61", "#d73027"] } },
      series: series
    };
    if (points.length) {
      option.geo = { map: name, roam: true, silent: true, itemStyle: { areaColor: "transparent", borderColor: "transparent" } };
      series.push({ type: "scatter", coordinateSystem: "geo", symbolSize: 4, name: "案件",
                    itemStyle: { color: "#1f4e79" },
                    data: points.map(function (p) { return { name: p.case_id, value: [p.lon, p.lat] }; }) });
    }
    return option;
  };

  function draw(root) {
    root.querySelectorAll(".chart[data-chart]").forEach(function (el) {
      var build = builders[el.dataset.chart];
      if (!build) return;
      var old = echarts.getInstanceByDom(el);
      if (old) old.dispose();
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(build(el));
      charts[el.id || Math.random()] = chart;
      if (el.dataset.clickUnit) {
        chart.on("click", function (p) {
          if (p.data && p.data.name && p.componentSubType === "map") {
            window.location = el.dataset.clickUnit.replace("__CODE__", encodeURIComponent(p.data.name));
          }
        });
      }
    });
  }

  window.fengqiao = { builders: builders, draw: draw };
  document.body.addEventListener("htmx:afterSettle", function (e) { draw(e.target); });
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (k) { charts[k].resize(); });
  });
  draw(document);
  connect();
})();
