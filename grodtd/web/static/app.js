// GRODT dashboard: polls the daemon's own read API and renders it. No framework, no other
// host: the Content-Security-Policy only allows this origin. Text goes in through
// textContent, never innerHTML, so a strange symbol or reason string cannot inject markup.
"use strict";

(function () {
  const POLL_MS = 2000;
  const TRADE_ROWS = 20;
  const EQUITY_POINTS = 1000;

  const $ = (id) => document.getElementById(id);

  const money = (x) =>
    Number(x).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const pct = (x) => (Number(x) * 100).toFixed(2) + " %";
  const num = (x) => Number(x).toLocaleString("en-US", { maximumFractionDigits: 6 });
  // Prices: cents for big quotes, more digits only where a coin is cheap enough to need them;
  // always at least the cents, so a column of prices lines up (2,589.80 under 59,141.08).
  const price = (x) => Number(x).toLocaleString("en-US", {
    minimumFractionDigits: 2,
    maximumFractionDigits: Math.abs(Number(x)) >= 100 ? 2 : 6,
  });
  const time = (iso) => (iso ? iso.replace("T", " ").replace("Z", " UTC") : "-");

  function setText(id, text, cls) {
    const el = $(id);
    el.textContent = text;
    if (cls !== undefined) el.className = cls;
  }

  function signed(x) {
    return Number(x) > 0 ? "pos" : Number(x) < 0 ? "neg" : "";
  }

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
    const ul = $(ulId);
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
    ul.replaceChildren(...fresh);
  }

  async function getJSON(path) {
    const response = await fetch(path, { cache: "no-store", credentials: "same-origin" });
    if (!response.ok) throw new Error(path + " answered " + response.status);
    return response.json();
  }

  function renderStatus(s) {
    setText("build", "v" + s.build.version + " (" + s.build.revision + ", " + s.build.environment + ")");
    const m = s.market;
    setText("market-source", m.source === "exchange" ? "exchange " + m.venue
      : m.source === "replay" ? "CSV replay" : "simulator");
    setText("trading", m.trading === "live" ? "LIVE: real orders on " + m.venue : "paper (simulated fills)",
      m.trading === "live" ? "neg" : "");
    setText("equity", money(s.equity));
    setText("cash", money(s.cash));
    setText("realized", money(s.realized_pnl), "big " + signed(s.realized_pnl));
    setText("unrealized", money(s.unrealized_pnl), "big " + signed(s.unrealized_pnl));
    setText("drawdown", pct(s.drawdown));
    setText("daily-loss", pct(s.daily_loss));
    setText("bars", String(s.bars_processed));
    // Who paused, when (wall clock: the operator's time, not the market's) and why.
    const pause = s.pause;
    setText("paused", !pause ? "no"
      : "since " + time(pause.since) + " (wall clock) by " + pause.by
        + (pause.reason ? ": " + pause.reason : ""));
    setText("halted", s.trading_halted ? "yes" : "no", s.trading_halted ? "neg" : "pos");
    setText("loss-streak", String(s.loss_streak));
    setText("cooldown", time(s.cooldown_until));
    listItems("halts", s.halts.map((h) => h.reason + ": " + h.detail));
    listItems("kill-switches", s.kill_switches.map((k) => k.reason + ": " + k.detail));
    const symbols = Object.keys(s.regimes).concat(Object.keys(s.last_prices))
      .filter((v, i, a) => a.indexOf(v) === i).sort();
    fillRows("regimes-body", symbols.map((sym) => [
      cell(sym),
      cell(s.regimes[sym] || "-"),
      cell(sym in s.last_prices ? price(s.last_prices[sym]) : "-", "num"),
      cell(time(s.last_bar_times[sym])),
    ]));
    listItems("strategies", Object.entries(s.strategies_enabled)
      .map(([name, on]) => name + ": " + (on ? "enabled" : "disabled")));
    const state = s.paused ? ["paused", "badge warn"]
      : s.trading_halted ? ["entries halted", "badge bad"] : ["trading", "badge ok"];
    setText("state", state[0], state[1]);
  }

  function renderPositions(positions) {
    fillRows("positions-body", positions.map((p) => [
      cell(p.symbol), cell(p.strategy), cell(num(p.qty), "num"), cell(price(p.avg_price), "num"),
      cell(price(p.last_price), "num"), cell(price(p.stop_price), "num"),
      cell(price(p.target_price), "num"), cell(money(p.unrealized_pnl), "num " + signed(p.unrealized_pnl)),
      cell(time(p.opened_at)),
    ]), "position-row");
  }

  function renderTrades(page) {
    fillRows("trades-body", page.items.map((t) => [
      cell(time(t.exit_at)), cell(t.symbol), cell(t.strategy), cell(num(t.qty), "num"),
      cell(price(t.entry_price), "num"), cell(price(t.exit_price), "num"), cell(money(t.fees), "num"),
      cell(money(t.pnl), "num " + signed(t.pnl)), cell(t.exit_reason),
    ]), "trade-row");
    setText("trades-total", page.total + " closed trade(s) in total");
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

  function drawEquity(points) {
    const canvas = $("equity-chart");
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 900;
    const height = canvas.clientHeight || 260;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    canvas.dataset.points = String(points.length);
    $("equity-empty").hidden = points.length > 0;
    if (points.length === 0) return;

    const pad = { left: 80, right: 12, top: 12, bottom: 24 };
    const xs = points.map((p) => p.ts);
    const ys = points.map((p) => p.equity);
    let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    if (y1 === y0) { const d = Math.abs(y0) * 0.001 || 1; y0 -= d; y1 += d; }
    const px = (x) => pad.left + ((x - x0) / (x1 - x0)) * (width - pad.left - pad.right);
    const py = (y) => height - pad.bottom - ((y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);

    const style = getComputedStyle(document.documentElement);
    ctx.strokeStyle = style.getPropertyValue("--grid").trim() || "#2a3556";
    ctx.fillStyle = style.getPropertyValue("--muted").trim() || "#8c96b3";
    ctx.lineWidth = 1;
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let i = 0; i <= 4; i++) {
      const y = y0 + ((y1 - y0) * i) / 4;
      ctx.beginPath();
      ctx.moveTo(pad.left, py(y));
      ctx.lineTo(width - pad.right, py(y));
      ctx.stroke();
      ctx.fillText(money(y), pad.left - 6, py(y));
    }
    ctx.textAlign = "left";
    ctx.textBaseline = "alphabetic";
    ctx.fillText(time(points[0].at), pad.left, height - 6);
    ctx.textAlign = "right";
    ctx.fillText(time(points[points.length - 1].at), width - pad.right, height - 6);

    ctx.strokeStyle = style.getPropertyValue("--line").trim() || "#4cc9f0";
    ctx.lineWidth = 2;
    ctx.beginPath();
    points.forEach((p, i) => (i === 0 ? ctx.moveTo(px(p.ts), py(p.equity)) : ctx.lineTo(px(p.ts), py(p.equity))));
    if (points.length === 1) ctx.arc(px(points[0].ts), py(points[0].equity), 3, 0, 2 * Math.PI);
    ctx.stroke();
  }

  async function refresh() {
    const jobs = [
      ["api/v1/status", renderStatus],
      ["api/v1/positions", renderPositions],
      ["api/v1/trades?limit=" + TRADE_ROWS, renderTrades],
      ["api/v1/equity?limit=" + EQUITY_POINTS, drawEquity],
      ["api/v1/checks", renderChecks],
    ];
    const results = await Promise.allSettled(jobs.map(([path, render]) => getJSON(path).then(render)));
    const failed = results.filter((r) => r.status === "rejected");
    if (failed.length === 0) {
      setText("updated", "updated " + new Date().toISOString().replace("T", " ").slice(0, 19) + " UTC", "muted");
    } else {
      setText("updated", "update failed: " + failed[0].reason.message, "neg");
    }
  }

  async function loop() {
    try {
      await refresh();
    } finally {
      setTimeout(loop, POLL_MS);
    }
  }

  loop();
})();
