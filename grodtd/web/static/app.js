// GRODT dashboard: polls the daemon's own read API and renders it, without reloading. No
// framework, no other host: the Content-Security-Policy only allows this origin. Text goes in
// through textContent, never innerHTML, so a strange symbol or reason cannot inject markup.
"use strict";

(function () {
  const POLL_MS = 2000;
  const TRADE_ROWS = 25;
  const ORDER_ROWS = 50;
  const CANDLES = 1000;
  const EQUITY_POINTS = 1000;
  const EQUITY_EVERY = 5; // polls
  let polls = 0;
  const F = GRODT.format;
  const $ = (id) => document.getElementById(id);

  const view = { tradesOffset: 0, tradesTotal: 0, tradesSymbol: "", chartSymbol: "", positions: [] };
  // What the price chart holds: the whole window is fetched once, then only the newest bars;
  // the symbol's trades (for the markers) again only when the number of closed trades moves.
  const chart = { symbol: null, items: [], trades: [], tradesSeen: -1 };
  let priceChart = null;
  let equityChart = null;

  function setText(id, text, cls) {
    const el = $(id);
    el.textContent = text;
    if (cls !== undefined) el.className = cls;
  }

  const signed = (x) => (Number(x) > 0 ? "pos" : Number(x) < 0 ? "neg" : "");

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function fillRows(tbodyId, rows, testid) {
    const body = $(tbodyId);
    const fresh = rows.map((cells) => {
      const tr = document.createElement("tr");
      if (testid) tr.dataset.testid = testid;
      cells.forEach((c) => tr.appendChild(c));
      return tr;
    });
    if (fresh.length === 0) {
      // An explicit "none" row tells the operator the table is empty, not still loading.
      const tr = document.createElement("tr");
      const td = cell("none", "muted");
      td.colSpan = body.closest("table").tHead.rows[0].cells.length;
      tr.appendChild(td);
      fresh.push(tr);
    }
    body.replaceChildren(...fresh);
  }

  function listItems(ulId, items) {
    const fresh = items.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    });
    if (fresh.length === 0) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "none";
      fresh.push(li);
    }
    $(ulId).replaceChildren(...fresh);
  }

  // Keeps a <select>'s options in step with the symbols the daemon knows, keeping the choice.
  function syncOptions(selectId, symbols, keepFirst) {
    const select = $(selectId);
    const have = Array.from(select.options).slice(keepFirst ? 1 : 0).map((o) => o.value);
    if (have.join() === symbols.join()) return;
    const chosen = select.value;
    const fixed = keepFirst ? [select.options[0]] : [];
    select.replaceChildren(...fixed, ...symbols.map((s) => new Option(s, s)));
    if (symbols.includes(chosen) || (keepFirst && chosen === "")) select.value = chosen;
  }

  async function getJSON(path) {
    const response = await fetch(path, { cache: "no-store", credentials: "same-origin" });
    if (!response.ok) throw new Error(path + " answered " + response.status);
    return response.json();
  }

  function sourceName(m) {
    return m.source === "exchange" ? "exchange " + m.venue : m.source === "replay" ? "CSV replay" : "simulator";
  }

  function renderStatus(s) {
    setText("build", "v" + s.build.version + " (" + s.build.revision + ", " + s.build.environment + ")");
    const m = s.market;
    setText("market-source", sourceName(m));
    setText("source-badge", sourceName(m) + " · " + (m.trading === "live" ? "LIVE orders" : "paper"),
      "badge " + (m.trading === "live" ? "bad" : "info"));
    setText("trading", m.trading === "live" ? "LIVE: real orders on " + m.venue : "paper (simulated fills)",
      m.trading === "live" ? "neg" : "");
    setText("last-bar", F.marketTime(s.last_bar_at));
    setText("equity", F.money(s.equity));
    setText("cash", F.money(s.cash));
    setText("realized", F.money(s.realized_pnl), "big " + signed(s.realized_pnl));
    setText("unrealized", F.money(s.unrealized_pnl), "big " + signed(s.unrealized_pnl));
    setText("drawdown", F.pct(s.drawdown));
    setText("daily-loss", F.pct(s.daily_loss));
    setText("bars", F.count(s.bars_processed));
    renderPause(s);
    setText("halted", s.trading_halted ? "yes" : "no", s.trading_halted ? "neg" : "pos");
    // The streak restarts at 0 when a cooldown begins; say so, or "0" beside "3 losing trades
    // in a row" reads as a contradiction.
    const cooling = s.halts.some((h) => h.reason === "cooldown");
    setText("loss-streak", F.count(s.loss_streak) + (cooling ? " since the cooldown began" : ""));
    setText("cooldown", s.cooldown_until ? F.marketTime(s.cooldown_until) : "not cooling down");
    listItems("halts", s.halts.map((h) => h.reason + ": " + h.detail));
    listItems("kill-switches", s.kill_switches.map((k) => k.reason + ": " + k.detail));
    const symbols = Object.keys(s.regimes).concat(Object.keys(s.last_prices))
      .filter((v, i, a) => a.indexOf(v) === i).sort();
    fillRows("regimes-body", symbols.map((sym) => [
      cell(sym), cell(s.regimes[sym] || "-"),
      cell(sym in s.last_prices ? F.price(s.last_prices[sym]) : "-", "num"),
      cell(F.fromIso(s.last_bar_times[sym])),
    ]));
    syncOptions("trades-symbol", symbols, true);
    listItems("strategies", Object.entries(s.strategies_enabled)
      .map(([name, on]) => name + ": " + (on ? "enabled" : "disabled")));
    const state = s.paused ? ["paused", "badge warn"]
      : s.trading_halted ? ["entries halted", "badge bad"] : ["trading", "badge ok"];
    setText("state", state[0], state[1]);
  }

  function renderPause(s) {
    // Who paused, when (wall clock: the operator's time, not the market's) and why.
    const p = s.pause;
    const text = !p ? "no" : "since " + F.wallTime(p.since) + " by " + p.by + (p.reason ? ": " + p.reason : "");
    setText("paused", text);
    const banner = $("pause-banner");
    banner.hidden = !p;
    if (p) banner.textContent = "New entries paused " + text + ". Exits, stops and targets keep working.";
    $("pause-button").disabled = Boolean(p);
    $("resume-button").disabled = !p && !s.trading_halted;
  }

  function renderPositions(positions) {
    view.positions = positions;
    fillRows("positions-body", positions.map((p) => [
      cell(p.symbol), cell(p.strategy), cell(F.qty(p.qty), "num"), cell(F.price(p.avg_price), "num"),
      cell(F.price(p.last_price), "num"), cell(F.price(p.stop_price), "num"),
      cell(F.price(p.target_price), "num"), cell(F.money(p.unrealized_pnl), "num " + signed(p.unrealized_pnl)),
      cell(F.fromIso(p.opened_at)), cell(heldFor(p.opened_at)),
    ]), "position-row");
  }

  // How long a position is held, on the market's clock (the newest bar), not the wall's.
  let lastBarAt = null;
  const heldFor = (iso) => (lastBarAt ? F.duration((Date.parse(lastBarAt) - Date.parse(iso)) / 1000) : "-");

  function renderOrders(page) {
    fillRows("orders-body", page.items.map((o) => [
      cell(F.fromIso(o.created_at)), cell(o.symbol), cell(o.side), cell(o.kind), cell(o.purpose),
      cell(F.qty(o.qty), "num"), cell(o.price === null ? "market" : F.price(o.price), "num"),
      cell(o.stop_price === null ? "-" : F.price(o.stop_price), "num"),
      cell(o.target_price === null ? "-" : F.price(o.target_price), "num"), cell(o.client_order_id, "muted"),
    ]), "order-row");
    setText("orders-total", page.total + " open order(s)");
  }

  function renderTrades(page) {
    view.tradesTotal = page.total;
    fillRows("trades-body", page.items.map((t) => [
      cell(F.fromIso(t.entry_at)), cell(F.fromIso(t.exit_at)), cell(F.duration(t.duration_s)),
      cell(t.symbol), cell(t.strategy), cell(F.qty(t.qty), "num"),
      cell(F.price(t.entry_price), "num"), cell(F.price(t.exit_price), "num"), cell(F.money(t.fees), "num"),
      cell(F.money(t.pnl), "num " + signed(t.pnl)), cell(t.exit_reason),
    ]), "trade-row");
    const from = page.total ? page.offset + 1 : 0;
    const to = page.offset + page.items.length;
    setText("trades-range", from + " to " + to + " of " + page.total + " closed trade(s), newest first", "muted");
    $("trades-newer").disabled = page.offset === 0;
    $("trades-older").disabled = to >= page.total;
  }

  function renderChecks(c) {
    const rows = [];
    for (const [probe, report] of [["liveness", c.liveness], ["readiness", c.readiness]]) {
      for (const check of report.checks) {
        rows.push([cell(probe), cell(check.name), cell(check.ok ? "ok" : "FAIL", check.ok ? "pos" : "neg"),
          cell(check.reason)]);
      }
    }
    fillRows("checks-body", rows, "check-row");
    // The data source's own health, from readiness: an exchange outage says why here.
    const data = c.readiness.checks.find((check) => check.name === "market_data");
    if (data) setText("market-health", data.ok ? "ok: " + data.reason : data.reason, data.ok ? "pos" : "neg");
  }

  function candlesQuery() {
    const symbol = view.chartSymbol || chart.symbol;
    const last = chart.items.length && symbol === chart.symbol ? chart.items[chart.items.length - 1].ts : null;
    return "api/v1/candles?limit=" + CANDLES + (symbol ? "&symbol=" + encodeURIComponent(symbol) : "")
      + (last === null ? "" : "&since=" + last);
  }

  function mergeCandles(data) {
    if (data.symbol !== chart.symbol) {
      chart.symbol = data.symbol;
      chart.items = [];
      chart.tradesSeen = -1;
    }
    const first = data.items.length ? data.items[0].ts : Infinity;
    // The first new bar replaces the last one held if it has the same time (it was forming).
    chart.items = chart.items.filter((c) => c.ts < first).concat(data.items).slice(-CANDLES);
  }

  // The markers need every trade of the charted symbol, not the page the table shows.
  async function renderPrice(candles, closedTrades) {
    syncOptions("chart-symbol", candles.symbols, false);
    mergeCandles(candles);
    $("price-empty").hidden = chart.items.length > 0;
    if (!priceChart) return;
    if (chart.symbol && chart.tradesSeen !== closedTrades) {
      const path = "api/v1/trades?limit=500&symbol=" + encodeURIComponent(chart.symbol);
      chart.trades = (await getJSON(path)).items;
      chart.tradesSeen = closedTrades;
    }
    priceChart.update({ symbol: chart.symbol, items: chart.items }, chart.trades, view.positions);
  }

  function renderEquity(history) {
    setText("initial-cash", F.money(history.initial_cash));
    $("equity-empty").hidden = history.items.length > 0;
    if (equityChart) equityChart.update(history);
  }

  async function refresh() {
    let closedTrades = -1;
    const status = await getJSON("api/v1/status");
    lastBarAt = status.last_bar_at;
    renderStatus(status);
    const tradeQuery = "api/v1/trades?limit=" + TRADE_ROWS + "&offset=" + view.tradesOffset
      + (view.tradesSymbol ? "&symbol=" + encodeURIComponent(view.tradesSymbol) : "");
    const jobs = [
      ["api/v1/trades?limit=1", (page) => { closedTrades = page.total; }],
      ["api/v1/positions", renderPositions],
      ["api/v1/orders?status=pending&limit=" + ORDER_ROWS, renderOrders],
      [tradeQuery, renderTrades],
      ["api/v1/checks", renderChecks],
    ];
    // A long curve barely moves in 2 s; its 1000 points are the biggest answer, so less often.
    if (polls++ % EQUITY_EVERY === 0) jobs.push(["api/v1/equity/history?points=" + EQUITY_POINTS, renderEquity]);
    // The price chart after the positions: it draws their stop and target.
    jobs.push([candlesQuery(), (c) => renderPrice(c, closedTrades)]);
    // One request at a time: the daemon then serves a tab from one worker thread, not seven
    // at once (each thread would grow its own malloc arena in the daemon's memory).
    const results = [];
    for (const [path, render] of jobs) {
      try {
        await render(await getJSON(path));
        results.push({ status: "fulfilled" });
      } catch (reason) {
        results.push({ status: "rejected", reason });
      }
    }
    const failed = results.filter((r) => r.status === "rejected");
    if (failed.length > 0) throw failed[0].reason;
  }

  async function refreshNow() {
    try {
      await refresh();
      setText("updated", "updated " + F.wallTime(new Date().toISOString()), "muted");
    } catch (err) {
      setText("updated", "update failed: " + err.message, "neg");
    }
  }

  async function loop() {
    try {
      await refreshNow();
    } finally {
      setTimeout(loop, POLL_MS);
    }
  }

  function init() {
    if (GRODT.charts.available()) {
      priceChart = new GRODT.charts.PriceChart($("price-chart"));
      equityChart = new GRODT.charts.EquityChart($("equity-chart"));
    } else {
      $("charts-missing").hidden = false;
      document.querySelectorAll(".chart").forEach((el) => { el.hidden = true; });
    }
    $("chart-symbol").addEventListener("change", (e) => { view.chartSymbol = e.target.value; refreshNow(); });
    $("trades-symbol").addEventListener("change", (e) => {
      view.tradesSymbol = e.target.value;
      view.tradesOffset = 0;
      refreshNow();
    });
    $("trades-newer").addEventListener("click", () => {
      view.tradesOffset = Math.max(0, view.tradesOffset - TRADE_ROWS);
      refreshNow();
    });
    $("trades-older").addEventListener("click", () => {
      if (view.tradesOffset + TRADE_ROWS < view.tradesTotal) view.tradesOffset += TRADE_ROWS;
      refreshNow();
    });
    GRODT.control.init(refreshNow);
    loop();
  }

  init();
})();
