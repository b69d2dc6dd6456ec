// The explorer panels: the services from the router's `mesh.services`, a form per procedure built from its JSON
// Schema, a call history with latency and collapsible JSON, and a register panel. It uses app.js's session and log.
'use strict';
/* global element, byId, log, describeError, compact, parseJson, resultEnvelope, requireSession, onSubmit, session -- app.js's, loaded before this script on the same page */

/** A value as collapsible JSON: objects and arrays are <details>, open for the first two levels. */
function jsonView(value, depth = 0) {
  if (value === null || typeof value !== 'object') {
    const leaf = document.createElement('span');
    leaf.className = `json-${value === null ? 'null' : typeof value}`;
    leaf.textContent = JSON.stringify(value);
    return leaf;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  const details = document.createElement('details');
  details.open = depth < 2;
  const summary = document.createElement('summary');
  summary.textContent = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  details.append(summary);
  for (const [key, item] of entries) {
    const row = document.createElement('div');
    row.className = 'json-row';
    const name = document.createElement('span');
    name.className = 'json-key';
    name.textContent = `${key}: `;
    row.append(name, jsonView(item, depth + 1));
    details.append(row);
  }
  return details;
}

function addHistory(procedure, request, outcome, ms, ok) {
  const item = element('li', ok ? 'result' : 'error');
  const title = element('div', 'entry-title');
  title.append(element('span', 'text', procedure), ' ', element('span', 'kind', ok ? 'ok' : 'error'), ' ', element('span', 'at', `in ${ms.toFixed(1)} ms`));
  item.append(title, jsonView({ request, [ok ? 'result' : 'error']: outcome }, 1));
  byId('history').prepend(item);
}

/** A call with its latency in the history; resolves [ok, [args, kwargs] or the error]. */
async function timedCall(procedure, args, kwargs) {
  const started = performance.now();
  try {
    const envelope = resultEnvelope(await requireSession().call(procedure, args, kwargs));
    addHistory(procedure, [args, kwargs], envelope, performance.now() - started, true);
    return [true, envelope];
  } catch (err) {
    const error = err && typeof err.error === 'string' ? { uri: err.error, args: err.args, kwargs: err.kwargs } : { message: String(err && err.message) };
    addHistory(procedure, [args, kwargs], error, performance.now() - started, false);
    return [false, err];
  }
}

function schemaKind(schema) {
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (Array.isArray(schema.enum)) return 'enum';
  return ['string', 'number', 'integer', 'boolean'].includes(type) ? type : 'json';
}

/** One input for a property of the params schema. */
function fieldFor(name, schema, required) {
  const label = document.createElement('label');
  label.className = 'field';
  label.dataset.field = name;
  label.append(`${name}${required ? ' *' : ''} `);
  const kind = schemaKind(schema);
  let input;
  if (kind === 'enum') {
    input = document.createElement('select');
    for (const option of ['', ...schema.enum]) input.append(new Option(option === '' ? '' : JSON.stringify(option), option === '' ? '' : JSON.stringify(option)));
  } else if (kind === 'boolean') {
    input = document.createElement('select');
    for (const option of ['', 'true', 'false']) input.append(new Option(option, option));
  } else if (kind === 'json') {
    input = document.createElement('textarea');
    input.rows = 2;
    input.placeholder = 'JSON';
  } else {
    input = document.createElement('input');
    input.type = kind === 'string' ? 'text' : 'number';
    if (kind !== 'string') input.step = 'any';
  }
  input.name = name;
  input.dataset.kind = kind;
  if (schema.default !== undefined) input.placeholder = `default ${JSON.stringify(schema.default)}`;
  const error = document.createElement('span');
  error.className = 'field-error';
  error.setAttribute('role', 'alert');
  label.append(input, error);
  return label;
}

/** The kwargs a form gives: empty fields are left out, so the service applies its defaults and reports what is missing. */
function formKwargs(form) {
  const kwargs = {};
  for (const input of form.querySelectorAll('[name]')) {
    if (input.value === '') continue;
    const kind = input.dataset.kind;
    if (kind === 'string') kwargs[input.name] = input.value;
    else if (kind === 'number' || kind === 'integer') kwargs[input.name] = Number(input.value);
    else kwargs[input.name] = parseJson(input.value, input.name);
  }
  return kwargs;
}

function procedureForm(procedure) {
  const form = document.createElement('form');
  form.className = 'procedure-form';
  form.dataset.procedure = procedure.subject;
  const schema = procedure.paramsSchema;
  if (schema && schema.properties) {
    const required = new Set(schema.required || []);
    for (const [name, property] of Object.entries(schema.properties)) form.append(fieldFor(name, property, required.has(name)));
  } else {
    const label = document.createElement('label');
    label.append(`[args, kwargs]${procedure.parameters ? ` (${procedure.parameters})` : ''}`);
    const input = document.createElement('textarea');
    input.name = '$envelope';
    input.rows = 2;
    input.value = '[[], {}]';
    label.append(input);
    form.append(label);
  }
  const button = element('button', 'primary', 'Call');
  button.type = 'submit';
  const outcome = element('div', 'outcome');
  form.append(button, outcome);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitProcedure(form, procedure).catch((err) => log('error', describeError(err)));
  });
  return form;
}

async function submitProcedure(form, procedure) {
  for (const error of form.querySelectorAll('.field-error')) error.textContent = '';
  const envelope = form.querySelector('[name="$envelope"]');
  const [args, kwargs] = envelope ? parseJson(envelope.value, '[args, kwargs]') : [[], formKwargs(form)];
  const [ok, outcome] = await timedCall(procedure.subject, args, kwargs);
  const shown = form.querySelector('.outcome');
  shown.replaceChildren();
  shown.className = `outcome ${ok ? 'ok' : 'failed'}`;
  if (ok) {
    const [resultArgs, resultKwargs] = outcome;
    shown.append(jsonView(resultArgs.length === 1 && Object.keys(resultKwargs).length === 0 ? resultArgs[0] : outcome));
    return;
  }
  shown.textContent = describeError(outcome);
  // Field-level details of an INVALID_ARGUMENT go next to their field.
  for (const detail of (outcome && outcome.kwargs && outcome.kwargs.details) || []) {
    const field = [...form.querySelectorAll('.field')].find((f) => f.dataset.field === detail.field);
    if (field) field.querySelector('.field-error').textContent = detail.message;
  }
}

function renderServices(services) {
  const list = byId('services');
  const open = new Set([...list.querySelectorAll('details[open]')].map((d) => d.dataset.key));
  list.replaceChildren();
  for (const service of services) {
    const block = document.createElement('details');
    block.className = 'service';
    block.dataset.key = service.name;
    block.dataset.service = service.name;
    block.open = open.has(service.name) || services.length <= 3;
    const summary = element('summary', 'service-head');
    const instances = service.instances.length;
    summary.append(element('span', 'name', service.name), ' ', element('span', 'meta', `${service.version || ''} · ${instances} instance${instances === 1 ? '' : 's'}`));
    block.append(summary);
    if (service.description) block.append(element('p', 'description', service.description));
    const procedures = element('div', 'procedures');
    block.append(procedures);
    for (const procedure of service.procedures) {
      const item = document.createElement('details');
      item.className = 'procedure';
      item.dataset.key = procedure.subject;
      item.dataset.procedure = procedure.subject;
      item.open = open.has(procedure.subject);
      const title = element('summary', 'procedure-head');
      title.append(element('span', 'name', procedure.name));
      if (procedure.description) title.append(' ', element('span', 'description', procedure.description));
      item.append(title, procedureForm(procedure));
      procedures.append(item);
    }
    list.append(block);
  }
  const count = services.reduce((n, s) => n + s.procedures.length, 0);
  byId('services-status').textContent = `${services.length} service${services.length === 1 ? '' : 's'}, ${count} procedure${count === 1 ? '' : 's'}`;
}

async function refreshServices() {
  if (!session) return;
  try {
    const result = await session.call('mesh.services');
    renderServices(Array.isArray(result) ? result : resultEnvelope(result)[0][0] || []);
  } catch (err) {
    byId('services-status').textContent = `mesh.services failed: ${describeError(err)}`;
  }
}

/** Registered procedures: procedure -> its list item. */
const registered = new Map();

onSubmit('register-form', async () => {
  const procedure = byId('register-procedure').value.trim();
  const registration = await requireSession().register(procedure, (args, kwargs) => {
    log('invocation', `${procedure} ${compact([args || [], kwargs || {}])}`);
    return new autobahn.Result(args || [], kwargs || {});
  });
  const item = element('li', 'chip');
  item.append(element('span', 'name', procedure), ' ');
  const remove = element('button', 'small', 'Unregister');
  remove.type = 'button';
  remove.addEventListener('click', async () => {
    registered.delete(procedure);
    item.remove();
    await registration.unregister().catch(() => {});
    log('unregistered', procedure);
  });
  item.append(remove);
  byId('registrations').append(item);
  registered.set(procedure, item);
  log('registered', procedure);
  setTimeout(refreshServices, 500);
});

byId('refresh-services').addEventListener('click', () => void refreshServices());
byId('clear-history').addEventListener('click', () => byId('history').replaceChildren());
document.addEventListener('mesh-session', () => void refreshServices());
setInterval(() => void refreshServices(), 10_000);
