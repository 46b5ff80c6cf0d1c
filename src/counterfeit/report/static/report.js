// The report's interaction: charts (uPlot, vendored) from the JSON in #report-data, an x-axis
// switch (step or wall-clock) and the sample-grid slider. Runs offline from file://.
(function () {
  "use strict";
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                   "#17becf", "#bcbd22", "#7f7f7f"];
  const MARK = "#c0392b";
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const charts = [];
  window.counterfeit = {charts: charts};  // the browser tests read the drawn charts here

  const color = (i) => PALETTE[i % PALETTE.length];
  const px = (n) => n * (window.devicePixelRatio || 1);

  function duration(seconds) {
    if (seconds == null) return "-";
    const s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    const two = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
  }

  // Collapse warnings: a dashed vertical line where each fired, with its name.
  function marksPlugin(marks) {
    return {hooks: {draw: [(u) => {
      const ctx = u.ctx, box = u.bbox;
      ctx.save();
      ctx.strokeStyle = MARK;
      ctx.fillStyle = MARK;
      ctx.lineWidth = px(1);
      ctx.setLineDash([px(5), px(4)]);
      ctx.font = `${px(11)}px sans-serif`;
      ctx.textBaseline = "top";
      marks.forEach((mark, i) => {
        const x = Math.round(u.valToPos(mark.x, "x", true));
        if (x < box.left || x > box.left + box.width) return;
        ctx.beginPath();
        ctx.moveTo(x, box.top);
        ctx.lineTo(x, box.top + box.height);
        ctx.stroke();
        // The label to the right of its line, or to the left where it would leave the chart.
        const room = box.left + box.width - x > ctx.measureText(mark.label).width + px(8);
        ctx.textAlign = room ? "left" : "right";
        ctx.fillText(mark.label, room ? x + px(4) : x - px(4), box.top + px(4 + 14 * i));
      });
      ctx.restore();
    }]}};
  }

  function seriesOptions(spec, table) {
    const bars = spec.kind === "bars";
    return spec.series.map((s, i) => {
      const options = {label: s.label, stroke: color(s.color), width: 1.5, spanGaps: true,
                       points: {show: table.x.length <= 40}};
      if (s.dash) options.dash = [6, 4];
      if (bars && i === 0) {
        options.fill = color(s.color) + "aa";
        options.paths = uPlot.paths.bars({size: [0.6, 48]});
        options.points = {show: false};
      } else if (bars) {  // the floor: a dot on each bar
        options.paths = () => null;
        options.points = {show: true, size: 9, fill: color(s.color), stroke: color(s.color)};
      }
      return options;
    });
  }

  // Steps are whole numbers: ticks at 1, 2, 5 times a power of ten.
  const STEP_TICKS = [];
  for (let power = 1; power <= 1e9; power *= 10) STEP_TICKS.push(power, 2 * power, 5 * power);

  // The y axis as wide as its longest tick label (a log axis of FID reaches 10,000).
  function axisWidth(u, values, index, cycle) {
    const axis = u.axes[index];
    if (cycle > 1) return axis._size;
    const longest = (values || []).reduce((a, b) => (String(b).length > a.length ? String(b) : a), "");
    u.ctx.font = axis.font[0];
    return Math.ceil(axis.ticks.size + axis.gap + u.ctx.measureText(longest).width / (window.devicePixelRatio || 1)) + 4;
  }

  function build(spec, axis, element) {
    const table = spec.axes[axis] || spec.axes.step;
    const clock = table === spec.axes.seconds;
    const bars = spec.kind === "bars";
    const xLabel = bars ? "digit" : clock ? "wall-clock (h:mm:ss)" : "step";
    const yScale = {distr: spec.log ? 3 : 1};
    if (spec.yrange) {
      const [low, high] = spec.yrange;
      yScale.range = (u, min, max) => [Math.min(low, min), Math.max(high, max)];
    }
    const options = {
      title: spec.title,
      width: Math.max(element.clientWidth, 320),
      height: 260,
      series: [{label: xLabel, value: (u, v) => (v == null ? "-" : clock ? duration(v) : v)},
               ...seriesOptions(spec, table)],
      scales: {x: bars ? {time: false, range: [-0.5, table.x.length - 0.5]} : {time: false}, y: yScale},
      axes: [bars ? {label: xLabel, splits: () => table.x}
                  : clock ? {label: xLabel, values: (u, ticks) => ticks.map(duration)}
                  : {label: xLabel, incrs: STEP_TICKS},
             {size: axisWidth}],
      cursor: {drag: {x: !bars, y: false}},
      plugins: [marksPlugin(table.marks)],
    };
    const plot = new uPlot(options, [table.x, ...table.y], element);
    plot.spec = spec;
    return plot;
  }

  function drawAll(axis) {
    charts.splice(0).forEach((plot) => plot.destroy());
    data.charts.forEach((spec) => charts.push(build(spec, axis, document.getElementById(spec.id))));
  }

  const axisChoice = document.getElementById("x-axis");
  drawAll("step");
  if (axisChoice) {
    axisChoice.addEventListener("change", (event) => drawAll(event.target.value));
  }
  window.addEventListener("resize", () => {
    charts.forEach((plot) => {
      const element = document.getElementById(plot.spec.id);
      plot.setSize({width: Math.max(element.clientWidth, 320), height: 260});
    });
  });

  // The sample grids: one figure each, the slider shows one (the same fixed noise at each step).
  const slider = document.getElementById("grid-slider");
  if (slider) {
    const figures = Array.from(document.querySelectorAll("#grids figure"));
    const caption = document.getElementById("grid-step");
    const show = () => {
      const index = Number(slider.value);
      figures.forEach((figure, i) => { figure.hidden = i !== index; });
      caption.textContent = figures[index].dataset.label;
    };
    slider.addEventListener("input", show);
    show();
  }
})();
