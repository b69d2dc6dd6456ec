// The task queues panel: each queue's depth, claims and oldest age, and the dead tasks with a Retry button, from the
// router's mesh.tasks.queues every few seconds. It uses app.js's session (so the policy sees who signed in) and log.
'use strict';
/* global byId, element, requireSession, log, describeError, session -- app.js's, loaded before this script on the same page */

(() => {
  const REFRESH_MS = 3000;
  const panel = byId('tasks-panel');
  const status = byId('tasks-status');
  const queues = byId('task-queues').querySelector('tbody');
  const dead = byId('dead-tasks').querySelector('tbody');
  let timer = null;

  const age = (ms) => (ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(0)} s` : `${(ms / 60_000).toFixed(0)} min`);

  function row(cells) {
    const tr = document.createElement('tr');
    for (const cell of cells) {
      const td = tr.insertCell();
      if (cell instanceof Node) td.append(cell);
      else td.textContent = String(cell);
    }
    return tr;
  }

  function retryButton(task) {
    const button = element('button', 'small', 'Retry');
    button.type = 'button';
    button.dataset.retry = task.id;
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        const { id } = await requireSession().call('mesh.tasks.retry', [task.id]);
        log('result', `mesh.tasks.retry ${task.id}: enqueued again as ${id}`);
        await refresh();
      } catch (err) {
        log('error', `mesh.tasks.retry ${task.id} ${describeError(err)}`);
        status.textContent = `retry refused: ${describeError(err)}`;
        button.disabled = false;
      }
    });
    return button;
  }

  function show(overview) {
    queues.replaceChildren(
      ...overview.queues.map((q) => {
        const tr = row([q.task, q.queued, q.claimed, q.queued ? age(q.oldest_ms) : '-']);
        tr.dataset.task = q.task;
        return tr;
      }),
    );
    if (overview.queues.length === 0) queues.append(row(['no task queue you may see']));
    dead.replaceChildren(
      ...overview.dead.map((d) => {
        const tr = row([d.id, d.reason, d.attempts, d.error ? `${d.error.code}: ${d.error.message}` : '-', new Date(d.died_at).toLocaleString(), retryButton(d)]);
        tr.dataset.id = d.id;
        return tr;
      }),
    );
    if (overview.dead.length === 0) dead.append(row(['no dead task']));
    const silent = overview.unanswered.length ? `, no answer from ${overview.unanswered.join(', ')}` : '';
    status.textContent = `${overview.queues.length} queues, ${overview.dead.length} dead tasks${silent}, updated ${new Date().toLocaleTimeString()}`;
    panel.dataset.loaded = 'true';
  }

  async function refresh() {
    clearTimeout(timer);
    if (!session) return;
    try {
      show(await session.call('mesh.tasks.queues'));
    } catch (err) {
      status.textContent = `mesh.tasks.queues failed: ${describeError(err)}`;
    }
    timer = setTimeout(refresh, REFRESH_MS);
  }

  byId('refresh-tasks').addEventListener('click', () => void refresh());
  document.addEventListener('mesh-session', () => void refresh());
  if (session) void refresh();
})();
