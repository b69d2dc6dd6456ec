// The browsable API's form: reads the fields back by their JSON type, POSTs them as keyword arguments to the
// procedure on this origin, and shows the reply; field errors go next to their field. Text only, never HTML.
const form = document.getElementById('call');
const result = document.getElementById('result');

function argumentsOf() {
  const body = form.querySelector('[data-type="body"]');
  if (body) return body.value;
  const kwargs = {};
  for (const input of form.querySelectorAll('[data-field]')) {
    const name = input.dataset.field;
    const type = input.dataset.type;
    if (type === 'boolean') kwargs[name] = input.checked;
    else if (input.value === '' && !input.required) continue;
    else if (type === 'number') kwargs[name] = Number(input.value);
    else if (type === 'json') kwargs[name] = JSON.parse(input.value);
    else kwargs[name] = input.value;
  }
  return JSON.stringify(kwargs);
}

function show(state, value) {
  result.dataset.state = state;
  result.textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

if (form) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const span of form.querySelectorAll('[data-error-for]')) span.textContent = '';
    let body;
    try {
      body = argumentsOf();
    } catch (err) {
      show('error', `not valid JSON: ${err.message}`);
      return;
    }
    show('pending', '…');
    try {
      const res = await fetch(form.dataset.procedure, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const reply = await res.json();
      if (!res.ok) {
        for (const detail of reply.error?.details ?? []) {
          const span = [...form.querySelectorAll('[data-error-for]')].find((s) => s.dataset.errorFor === detail.field);
          if (span) span.textContent = detail.message;
        }
        show('error', reply);
      } else {
        const single = Array.isArray(reply) && Object.keys(reply[1] ?? {}).length === 0 && reply[0].length === 1;
        show('ok', JSON.stringify(single ? reply[0][0] : reply, null, 2));
      }
    } catch (err) {
      show('error', String(err));
    }
  });
}
