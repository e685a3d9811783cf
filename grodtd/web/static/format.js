// GRODT dashboard: one place for how every number and time is written, so a column of
// prices lines up, quantities never have ragged decimals, and every time says which clock.
"use strict";

(function () {
  const fixed = (digits) => (x) => Number(x).toLocaleString("en-US", {
    minimumFractionDigits: digits, maximumFractionDigits: digits,
  });

  const money = fixed(2);
  const qty = fixed(6);
  const pct = (x) => (Number(x) * 100).toFixed(2) + " %";
  const count = (x) => Number(x).toLocaleString("en-US", { maximumFractionDigits: 0 });
  // Cents for big quotes; cheap coins get 6 decimals. Always fixed per magnitude, so the
  // digits of one column line up (2,589.80 under 59,141.08).
  const price = (x) => (Math.abs(Number(x)) >= 100 ? fixed(2) : fixed(6))(x);

  // Bars carry the market's clock (simulated in a simulator or a replay); the operator's own
  // actions and the page's refresh carry the wall clock. Both are UTC, both say which.
  function utc(date) {
    return date.toISOString().replace("T", " ").slice(0, 19) + " UTC";
  }
  const fromIso = (iso) => (iso ? utc(new Date(iso)) : "-");
  const fromEpoch = (ts) => utc(new Date(Number(ts) * 1000));
  const marketTime = (iso) => (iso ? fromIso(iso) + " (market)" : "-");
  const wallTime = (iso) => (iso ? fromIso(iso) + " (wall clock)" : "-");

  function duration(seconds) {
    let s = Math.max(0, Math.round(Number(seconds)));
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    if (d > 0) return d + "d " + h + "h " + m + "m";
    if (h > 0) return h + "h " + m + "m";
    if (m > 0) return s > 0 ? m + "m " + s + "s" : m + "m";
    return s + "s";
  }

  window.GRODT = window.GRODT || {};
  window.GRODT.format = {
    money, qty, pct, count, price, fromIso, fromEpoch, marketTime, wallTime, duration,
  };
})();
