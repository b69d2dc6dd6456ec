// The dashboard panel: every procedure on the mesh with rate, errors, in flight, p50 and p99, and a small uPlot
// chart of its rate, refreshed every second from the gateway's mesh.stats. Its own WAMP session; the rest of the page is app.js's.
'use strict';

(() => {
  const REFRESH_MS = 1000;
  /** Points kept per chart: a minute at one refresh a second. */
  const HISTORY = 60;
  const COLUMNS = ['Procedure', 'Instances', 'Req/s', 'Requests', 'Errors', 'In flight', 'p50 ms', 'p99 ms', 'NATS reconnects', 'Rate, last minute'];
  /** Columns a phone leaves out (style.css hides them below 720 px): the table keeps procedure, rate, errors, p50, p99. */
  const SECONDARY = new Set(['Instances', 'Requests', 'In flight', 'NATS reconnects', 'Rate, last minute']);
  const columnClass = (column) => (SECONDARY.has(column) ? 'secondary' : '');

  const panel = document.getElementById('dashboard');
  const metaContent = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${metaContent('wamp-path')}`;

  const head = document.createElement('div');
  head.className = 'panel-head';
  const heading = document.createElement('h2');
  heading.textContent = 'Procedures on the mesh';
  const status = document.createElement('p');
  status.className = 'panel-note dashboard-status';
  status.textContent = 'waiting for mesh.stats';
  head.append(heading, status);
  const table = document.createElement('table');
  // A unit in its own span, which a phone leaves out.
  const label = (column) => column.replace(/ ms$/, '<span class="unit"> ms</span>');
  table.innerHTML = `<thead><tr>${COLUMNS.map((c) => `<th scope="col" class="${columnClass(c)}">${label(c)}</th>`).join('')}</tr></thead><tbody></tbody>`;
  const scroller = document.createElement('div');
  scroller.className = 'table-wrap';
  scroller.append(table);
  panel.append(head, scroller);
  const body = table.querySelector('tbody');

  /** procedure -> { row, cells, plot, times, rates, requests, at } */
  const rows = new Map();

  const ms = (value) => (value === undefined || value === null ? '-' : value < 10 ? value.toFixed(2) : value.toFixed(0));

  function chartFor(cell) {
    const opts = {
      width: 180,
      height: 40,
      legend: { show: false },
      cursor: { show: false },
      axes: [{ show: false }, { show: false }],
      scales: { x: { time: false } },
      series: [{}, { stroke: '#2a6f97', width: 1, fill: 'rgba(42, 111, 151, 0.15)' }],
    };
    return new uPlot(opts, [[], []], cell);
  }

  function rowFor(procedure) {
    let entry = rows.get(procedure);
    if (entry) return entry;
    const row = document.createElement('tr');
    row.dataset.procedure = procedure;
    const cells = COLUMNS.map((column) => Object.assign(row.insertCell(), { className: columnClass(column) }));
    // A line may break after each dot of a long name: <wbr> adds no text.
    procedure.split('.').forEach((part, i) => cells[0].append(...(i === 0 ? [part] : ['.', document.createElement('wbr'), part])));
    cells[COLUMNS.length - 1].classList.add('dashboard-chart');
    body.append(row);
    entry = { row, cells, plot: chartFor(cells[COLUMNS.length - 1]), times: [], rates: [], requests: undefined, at: undefined };
    rows.set(procedure, entry);
    return entry;
  }

  function show(stats) {
    const seen = new Set();
    for (const p of stats.procedures) {
      seen.add(p.procedure);
      const entry = rowFor(p.procedure);
      const seconds = entry.at === undefined ? 0 : (stats.at - entry.at) / 1000;
      const rate = seconds > 0 ? Math.max(0, p.requests - entry.requests) / seconds : undefined;
      entry.requests = p.requests;
      entry.at = stats.at;
      const p50 = p.p50Ms ?? (p.requests ? p.averageMs : undefined);
      const codes = Object.entries(p.errorsByCode)
        .map(([code, n]) => `${code}: ${n}`)
        .join(', ');
      const values = [p.instances, rate === undefined ? '-' : rate.toFixed(1), p.requests, p.errors, p.inFlight, ms(p50), ms(p.p99Ms), p.natsReconnects];
      values.forEach((value, i) => {
        entry.cells[i + 1].textContent = String(value);
      });
      entry.cells[4].title = codes;
      if (rate !== undefined) {
        entry.times.push(stats.at / 1000);
        entry.rates.push(rate);
        if (entry.times.length > HISTORY) {
          entry.times.shift();
          entry.rates.shift();
        }
        entry.plot.setData([entry.times, entry.rates]);
      }
    }
    for (const [procedure, entry] of rows) {
      if (seen.has(procedure)) continue;
      entry.plot.destroy();
      entry.row.remove();
      rows.delete(procedure);
    }
    const { disconnects, reconnects, stale } = stats.nats;
    status.textContent = `${stats.procedures.length} procedures, updated ${new Date(stats.at).toLocaleTimeString()} · gateway's NATS connection: ${disconnects} lost, ${reconnects} restored, ${stale} stale`;
  }

  let timer = null;
  const connection = new autobahn.Connection({ url, realm: metaContent('wamp-realm'), max_retries: -1, max_retry_delay: 5 });
  connection.onopen = (session) => {
    const refresh = async () => {
      try {
        show(await session.call('mesh.stats'));
      } catch (err) {
        status.textContent = `mesh.stats failed: ${err && err.error ? err.error : err}`;
      }
      if (session.isOpen) timer = setTimeout(refresh, REFRESH_MS);
    };
    refresh();
  };
  connection.onclose = () => {
    clearTimeout(timer);
    status.textContent = 'disconnected; reconnecting';
  };
  connection.open();
})();
