// Draws the backtest report's charts from the JSON embedded in the page (id "report-data")
// with the inlined Lightweight Charts library. Each chart box gets data-points (how many
// points it drew) so a test can check that every chart got all its data.
(function () {
  "use strict";
  const LWC = window.LightweightCharts;
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const details = data.details;
  const GREEN = "#00897b";
  const RED = "#c62828";
  const BLUE = "#1565c0";
  const GREY = "#9e9e9e";

  function chartIn(id) {
    const box = document.getElementById(id);
    const chart = LWC.createChart(box, {
      autoSize: true,
      timeScale: { timeVisible: true, secondsVisible: false },
      localization: { timeFormatter: (t) => new Date(t * 1000).toISOString().slice(0, 16) },
    });
    return { box: box, chart: chart };
  }

  function points(ts, values, scale) {
    return ts.map((t, i) => ({ time: t, value: values[i] * scale }));
  }

  function drawn(box, chart, count) {
    chart.timeScale().fitContent();
    box.dataset.points = String(count);
  }

  function equity() {
    const c = chartIn("chart-equity");
    const curve = details.curve;
    const strategy = c.chart.addSeries(LWC.LineSeries, { color: BLUE, title: "strategy" });
    strategy.setData(points(curve.ts, curve.equity, 1));
    const hold = c.chart.addSeries(LWC.LineSeries, { color: GREY, title: "buy and hold" });
    hold.setData(points(curve.ts, curve.benchmark, 1));
    drawn(c.box, c.chart, curve.ts.length);
  }

  function drawdown() {
    const c = chartIn("chart-drawdown");
    const curve = details.curve;
    const series = c.chart.addSeries(LWC.AreaSeries, {
      lineColor: RED,
      topColor: "rgba(198, 40, 40, 0.05)",
      bottomColor: "rgba(198, 40, 40, 0.4)",
      invertFilledArea: true,
      title: "drawdown %",
    });
    series.setData(points(curve.ts, curve.drawdown, 100));
    drawn(c.box, c.chart, curve.ts.length);
  }

  function monthStart(month) {
    const [year, number] = month.split("-").map(Number);
    return Date.UTC(year, number - 1, 1) / 1000;
  }

  function monthly() {
    const c = chartIn("chart-monthly");
    const rows = details.monthly_returns;
    const bars = c.chart.addSeries(LWC.HistogramSeries, { title: "strategy %" });
    bars.setData(
      rows.map((r) => ({
        time: monthStart(r.month),
        value: r.return * 100,
        color: r.return < 0 ? RED : GREEN,
      })),
    );
    const hold = c.chart.addSeries(LWC.LineSeries, { color: GREY, title: "buy and hold %" });
    hold.setData(rows.map((r) => ({ time: monthStart(r.month), value: r.benchmark_return * 100 })));
    drawn(c.box, c.chart, rows.length);
  }

  function price(symbol, index) {
    const c = chartIn("chart-price-" + index);
    const k = details.candles[symbol];
    const series = c.chart.addSeries(LWC.CandlestickSeries, {});
    series.setData(
      k.ts.map((t, i) => ({ time: t, open: k.open[i], high: k.high[i], low: k.low[i], close: k.close[i] })),
    );
    // A trade's marks sit on the candle that holds its time: candles may span many bars.
    const bucket = (t) => t - (t % k.width);
    const trades = details.trades.filter((t) => t.symbol === symbol);
    // Labels only while they stay readable; the arrows and colours remain.
    const labelled = trades.length <= 40;
    const marks = [];
    for (const trade of trades) {
      marks.push({
        time: bucket(trade.entry_ts),
        position: "belowBar",
        shape: "arrowUp",
        color: BLUE,
        text: labelled ? "buy" : "",
      });
      marks.push({
        time: bucket(trade.exit_ts),
        position: "aboveBar",
        shape: "arrowDown",
        color: trade.pnl < 0 ? RED : GREEN,
        text: labelled ? trade.exit_reason : "",
      });
    }
    marks.sort((a, b) => a.time - b.time);
    LWC.createSeriesMarkers(series, marks);
    c.box.dataset.markers = String(marks.length);
    drawn(c.box, c.chart, k.ts.length);
  }

  equity();
  drawdown();
  monthly();
  data.symbols.forEach(price);
  document.body.dataset.chartsReady = "true";
})();
