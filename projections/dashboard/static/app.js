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

  // Map shapes are registered under a name the panel gives (its unit and level). The shapes
  // are a geo component the values colour (a map series on it) and the cases stand on.
  builders.map = function (el) {
    var geo = JSON.parse(el.dataset.geo), name = el.dataset.mapName;
    echarts.registerMap(name, geo);
    var rows = JSON.parse(el.dataset.rows || "[]");
    var points = JSON.parse(el.dataset.points || "[]");
    var rate = el.dataset.kpiUnit === "%";
    var values = rows.map(function (r) { return r.value; }).filter(function (v) { return v !== null; });
    var fmt = function (v) {
      if (v === null || v === undefined || isNaN(v)) return "—";
      return rate ? (v * 100).toFixed(1) + "%" : (Math.round(v * 100) / 100).toLocaleString("zh-CN");
    };
    var option = {
      tooltip: { formatter: function (p) {
        if (p.seriesType === "scatter") return p.data.name + "<br>" + (p.data.title || "");
        var d = p.data || {}; return (d.label || p.name) + "：" + fmt(p.value);
      } },
      geo: { map: name, roam: true, nameProperty: "name",
             itemStyle: { areaColor: "#eef1f5", borderColor: "#5b6b7c", borderWidth: 0.5 },
             emphasis: { label: { show: false }, itemStyle: { areaColor: "#ffd54f" } } },
      visualMap: { min: values.length ? Math.min.apply(null, values) : 0,
                   max: values.length ? Math.max.apply(null, values) : 1,
                   calculable: true, left: 10, bottom: 10, seriesIndex: 0,
                   text: [el.dataset.kpiLabel || "", ""], formatter: fmt,
                   // the worse end red: high when lower is better, low otherwise
                   inRange: { color: el.dataset.lowerBetter === "true"
                     ? ["#e0f3f8", "#abd9e9", "#fdae61", "#d73027"]
                     : ["#d73027", "#fdae61", "#abd9e9", "#4575b4"] } },
      series: [{
        type: "map", geoIndex: 0, name: el.dataset.kpiLabel || "",
        data: rows.map(function (r) { return { name: r.code, value: r.value, label: r.name }; })
      }]
    };
    if (points.length) {
      option.series.push({ type: "scatter", coordinateSystem: "geo", symbolSize: 4, name: "案件",
                           itemStyle: { color: "#1f4e79", opacity: 0.7 },
                           data: points.map(function (p) {
                             return { name: p.case_id, title: p.title, value: [p.lon, p.lat] }; }) });
    }
    return option;
  };

  // A worker's visits of a day: each track a line (over the grid's polygon when the reference
  // data has one, else on plain lon/lat axes), each point with its time.
  builders.track = function (el) {
    var rows = JSON.parse(el.dataset.rows), geo = JSON.parse(el.dataset.geo || "null");
    var onMap = geo && geo.features && geo.features.length;
    var hhmm = function (iso) { return new Date(iso).toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit" }); };
    var option = { tooltip: { trigger: "item" }, legend: { top: 0, type: "scroll" }, series: [] };
    if (onMap) {
      echarts.registerMap(el.dataset.mapName, geo);
      option.geo = { map: el.dataset.mapName, roam: true, top: 40,
                     itemStyle: { areaColor: "#eef1f5", borderColor: "#5b6b7c" } };
    } else {
      option.grid = { left: 70, right: 30, top: 40, bottom: 40 };
      option.xAxis = { type: "value", scale: true, name: "经度" };
      option.yAxis = { type: "value", scale: true, name: "纬度" };
    }
    rows.forEach(function (r) {
      var label = hhmm(r.started_at) + " " + r.households + "户";
      var data = r.points.map(function (p) { return { value: [p[0], p[1]], time: p[2] }; });
      var line = onMap
        ? { type: "lines", coordinateSystem: "geo", polyline: true, name: label,
            data: [{ coords: r.points.map(function (p) { return [p[0], p[1]]; }) }],
            lineStyle: { width: 2 } }
        : { type: "line", name: label, data: data, showSymbol: false };
      option.series.push(line);
      option.series.push({ type: "scatter", name: label, symbolSize: 6,
                           coordinateSystem: onMap ? "geo" : "cartesian2d", data: data,
                           tooltip: { formatter: function (p) { return label + "<br>" + hhmm(p.data.time); } } });
    });
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
          if (p.seriesType === "scatter" && p.data && p.data.name) {
            window.location = "/case/" + encodeURIComponent(p.data.name);
          } else if (p.name && (p.componentType === "geo" || p.componentSubType === "map")) {
            window.location = el.dataset.clickUnit.replace("__CODE__", encodeURIComponent(p.name));
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
