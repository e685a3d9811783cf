// GRODT dashboard charts: the price of one symbol with the strategy's levels and its trades,
// and the equity since the start over its initial capital with the drawdown beneath.
// Drawn by TradingView Lightweight Charts, served by the daemon from /static/vendor/ (no CDN:
// the Content-Security-Policy allows this origin only).
"use strict";

(function () {
  const LWC = window.LightweightCharts;
  const css = getComputedStyle(document.documentElement);
  const color = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  const COLORS = {
    text: color("--muted", "#8c96b3"), grid: color("--grid", "#2a3556"), up: color("--ok", "#3ddc97"),
    down: color("--bad", "#ff5d73"), line: color("--line", "#4cc9f0"), warn: color("--warn", "#ffb454"),
    vwap: "#c77dff", emaFast: "#ffd166", emaSlow: "#4cc9f0",
  };
  // The equity axis spans at least this fraction of the initial capital around it, so a loss
  // of a few dollars on a 100,000 account looks like what it is, not like a crash.
  const MIN_EQUITY_SPAN = 0.01;

  function baseOptions(el) {
    return {
      width: el.clientWidth || 900,
      height: el.clientHeight || 320,
      autoSize: true,
      // The logo would inject an inline <style>, which the CSP refuses; the page credits the
      // library in its footer instead, as its licence asks.
      layout: { background: { color: "transparent" }, textColor: COLORS.text, attributionLogo: false },
      grid: { vertLines: { color: COLORS.grid }, horzLines: { color: COLORS.grid } },
      timeScale: { timeVisible: true, secondsVisible: false, borderColor: COLORS.grid },
      rightPriceScale: { borderColor: COLORS.grid },
      localization: { timeFormatter: (t) => GRODT.format.fromEpoch(t) },
      crosshair: { mode: 0 },
    };
  }

  function available() {
    return Boolean(LWC && LWC.createChart);
  }

  class PriceChart {
    constructor(el) {
      this.el = el;
      this.chart = LWC.createChart(el, baseOptions(el));
      this.candles = this.chart.addSeries(LWC.CandlestickSeries, {
        upColor: COLORS.up, downColor: COLORS.down, borderVisible: false,
        wickUpColor: COLORS.up, wickDownColor: COLORS.down,
        // The open position's stop and target stay in view, however far from the price.
        autoscaleInfoProvider: (original) => this.scaleWithLevels(original()),
      });
      const line = (c, title) => this.chart.addSeries(LWC.LineSeries, {
        color: c, lineWidth: 1, title, priceLineVisible: false, lastValueVisible: false,
        crosshairMarkerVisible: false,
      });
      this.vwap = line(COLORS.vwap, "VWAP");
      this.emaFast = line(COLORS.emaFast, "EMA fast");
      this.emaSlow = line(COLORS.emaSlow, "EMA slow");
      this.markers = LWC.createSeriesMarkers(this.candles, []);
      this.levels = [];
      this.symbol = null;
    }

    update(data, trades, positions) {
      const fresh = this.symbol !== data.symbol;
      this.symbol = data.symbol;
      const rows = data.items;
      this.setLevels(positions.filter((p) => p.symbol === data.symbol));
      this.candles.setData(rows.map((c) => ({ time: c.ts, open: c.open, high: c.high, low: c.low, close: c.close })));
      this.vwap.setData(rows.map((c) => ({ time: c.ts, value: c.vwap })));
      const defined = (key) => rows.filter((c) => c[key] !== null).map((c) => ({ time: c.ts, value: c[key] }));
      this.emaFast.setData(defined("ema_fast"));
      this.emaSlow.setData(defined("ema_slow"));
      const markers = tradeMarkers(trades, positions, data.symbol, rows);
      this.markers.setMarkers(markers);
      this.el.dataset.candles = String(rows.length);
      this.el.dataset.markers = String(markers.length);
      this.el.dataset.symbol = data.symbol;
      if (fresh && rows.length) this.chart.timeScale().fitContent();
    }

    scaleWithLevels(auto) {
      const prices = this.levelPrices || [];
      if (!auto || prices.length === 0) return auto;
      return {
        priceRange: {
          minValue: Math.min(auto.priceRange.minValue, ...prices),
          maxValue: Math.max(auto.priceRange.maxValue, ...prices),
        },
        margins: auto.margins,
      };
    }

    setLevels(positions) {
      this.levelPrices = [];
      this.levels.forEach((l) => this.candles.removePriceLine(l));
      this.levels = [];
      for (const p of positions) {
        const level = (price, c, title, style) => {
          this.levelPrices.push(price);
          this.levels.push(this.candles.createPriceLine({
            price, color: c, lineWidth: 1, lineStyle: style, axisLabelVisible: true, title,
          }));
        };
        level(p.avg_price, COLORS.line, "entry", 0);
        if (p.stop_price) level(p.stop_price, COLORS.down, "stop", 2);
        if (p.target_price) level(p.target_price, COLORS.up, "target", 2);
      }
      this.el.dataset.levels = String(this.levels.length);
    }
  }

  // Entries below the bar (arrow up for a long), exits above it, at the bar that holds them;
  // trades older than the candles in memory are left out rather than piled on the first bar.
  function tradeMarkers(trades, positions, symbol, rows) {
    if (rows.length === 0) return [];
    const first = rows[0].ts;
    const last = rows[rows.length - 1].ts;
    const step = rows.length > 1 ? rows[1].ts - rows[0].ts : 60;
    const barOf = (iso) => {
      const ts = Math.floor(Date.parse(iso) / 1000);
      return ts - ((ts - first) % step + step) % step;
    };
    const inView = (ts) => ts >= first && ts <= last;
    const out = [];
    for (const t of trades.filter((x) => x.symbol === symbol)) {
      const entry = barOf(t.entry_at);
      const exit = barOf(t.exit_at);
      if (inView(entry)) out.push({ time: entry, position: "belowBar", color: COLORS.line, shape: "arrowUp", text: "in" });
      if (inView(exit)) {
        out.push({ time: exit, position: "aboveBar", color: t.pnl >= 0 ? COLORS.up : COLORS.down,
          shape: "arrowDown", text: t.exit_reason + " " + GRODT.format.money(t.pnl) });
      }
    }
    for (const p of positions.filter((x) => x.symbol === symbol)) {
      const entry = barOf(p.opened_at);
      if (inView(entry)) out.push({ time: entry, position: "belowBar", color: COLORS.warn, shape: "arrowUp", text: "open" });
    }
    return out.sort((a, b) => a.time - b.time);
  }

  class EquityChart {
    constructor(el) {
      this.el = el;
      this.chart = LWC.createChart(el, baseOptions(el));
      this.baseline = 0;
      this.equity = this.chart.addSeries(LWC.BaselineSeries, {
        baseValue: { type: "price", price: 0 },
        topLineColor: COLORS.up, bottomLineColor: COLORS.down,
        topFillColor1: "rgba(61, 220, 151, 0.25)", topFillColor2: "rgba(61, 220, 151, 0.02)",
        bottomFillColor1: "rgba(255, 93, 115, 0.02)", bottomFillColor2: "rgba(255, 93, 115, 0.25)",
        title: "equity",
        autoscaleInfoProvider: (original) => this.scaleAroundBaseline(original()),
      });
      this.drawdown = this.chart.addSeries(LWC.HistogramSeries, {
        color: COLORS.down, title: "drawdown", priceFormat: { type: "percent", precision: 2, minMove: 0.01 },
        priceLineVisible: false,
      }, 1);
      const panes = this.chart.panes();
      if (panes.length > 1) panes[1].setHeight(80);
      this.first = true;
    }

    scaleAroundBaseline(auto) {
      const b = this.baseline;
      if (!b) return auto;
      const low = auto ? Math.min(auto.priceRange.minValue, b) : b;
      const high = auto ? Math.max(auto.priceRange.maxValue, b) : b;
      const half = (b * MIN_EQUITY_SPAN) / 2;
      return {
        priceRange: { minValue: Math.min(low, b - half), maxValue: Math.max(high, b + half) },
        margins: auto ? auto.margins : undefined,
      };
    }

    update(history) {
      this.baseline = history.initial_cash;
      this.equity.applyOptions({ baseValue: { type: "price", price: history.initial_cash } });
      this.equity.setData(history.items.map((p) => ({ time: p.ts, value: p.equity })));
      this.drawdown.setData(history.items.map((p) => ({ time: p.ts, value: -100 * p.drawdown })));
      if (!this.capitalLine) {
        this.capitalLine = this.equity.createPriceLine({
          price: history.initial_cash, color: COLORS.text, lineWidth: 1, lineStyle: 1,
          axisLabelVisible: true, title: "initial capital",
        });
      } else {
        this.capitalLine.applyOptions({ price: history.initial_cash });
      }
      this.el.dataset.points = String(history.items.length);
      if (this.first && history.items.length) {
        this.chart.timeScale().fitContent();
        this.first = false;
      }
    }
  }

  window.GRODT = window.GRODT || {};
  window.GRODT.charts = { available, PriceChart, EquityChart };
})();
