// The page's behaviour: one Autobahn|JS connection that reconnects by itself, the three panels, and the log.
// Plain browser JavaScript served as is; the WAMP protocol itself is Autobahn's and the gateway's business.
'use strict';

const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
const byId = (id) => document.getElementById(id);

const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${meta('wamp-path')}`;
const realm = meta('wamp-realm');

/** Topics the user subscribed to, kept across reconnects: topic -> its list item. */
const subscribed = new Map();
let session = null;

/** An element with a class and a text, the page's building block. */
function element(tag, className, text = '') {
  const made = document.createElement(tag);
  made.className = className;
  made.textContent = text;
  return made;
}

function log(kind, text) {
  const item = element('li', kind);
  item.append(element('time', 'at', new Date().toLocaleTimeString()), ' ', element('span', 'kind', kind), ' ', element('span', 'text', text));
  byId('log').prepend(item);
}

function showState(state, detail = '') {
  byId('state').textContent = state;
  byId('state').dataset.state = state;
  byId('state-detail').textContent = detail;
}

const compact = (value) => JSON.stringify(value);

function describeError(err) {
  if (err && typeof err.error === 'string') return `${err.error} ${compact(err.args)} ${compact(err.kwargs)}`;
  return String(err && err.message ? err.message : err);
}

/** Splits a call result the way Autobahn returns it (a single value, or a Result) into [args, kwargs]. */
function resultEnvelope(result) {
  if (result instanceof autobahn.Result) return [result.args || [], result.kwargs || {}];
  return result === undefined || result === null ? [[], {}] : [[result], {}];
}

async function subscribe(topic) {
  const subscription = await session.subscribe(topic, (args, kwargs, details) => {
    log('event', `${details.topic || topic} ${compact([args || [], kwargs || {}])}`);
  });
  const item = subscribed.get(topic);
  item.dataset.subscribed = 'true';
  item.subscription = subscription;
  log('subscribed', topic);
}

function addSubscription(topic) {
  if (subscribed.has(topic)) return;
  const item = element('li', 'chip');
  item.append(element('span', 'name', topic), ' ');
  const remove = element('button', 'small', 'Unsubscribe');
  remove.type = 'button';
  remove.addEventListener('click', async () => {
    subscribed.delete(topic);
    item.remove();
    if (session && item.subscription) await session.unsubscribe(item.subscription).catch(() => {});
    log('unsubscribed', topic);
  });
  item.append(remove);
  byId('subscriptions').append(item);
  subscribed.set(topic, item);
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} is not JSON: ${err.message}`, { cause: err });
  }
}

function requireSession() {
  if (!session) throw new Error('not connected yet');
  return session;
}

function onSubmit(id, action) {
  byId(id).addEventListener('submit', (event) => {
    event.preventDefault();
    Promise.resolve()
      .then(action)
      .catch((err) => log('error', describeError(err)));
  });
}

onSubmit('subscribe-form', async () => {
  const topic = byId('subscribe-topic').value.trim();
  requireSession();
  addSubscription(topic);
  await subscribe(topic);
});

onSubmit('publish-form', async () => {
  const topic = byId('publish-topic').value.trim();
  const data = parseJson(byId('publish-data').value, 'data');
  const [args, kwargs] = Array.isArray(data) ? [data, {}] : data !== null && typeof data === 'object' ? [[], data] : [[data], {}];
  // exclude_me: false, so a page subscribed to the topic sees its own event like everyone else's.
  await requireSession().publish(topic, args, kwargs, { acknowledge: true, exclude_me: false });
  log('published', `${topic} ${compact([args, kwargs])}`);
});

onSubmit('call-form', async () => {
  const procedure = byId('call-procedure').value.trim();
  const payload = parseJson(byId('call-payload').value, '[args, kwargs]');
  const [args = [], kwargs = {}] = Array.isArray(payload) ? payload : [[], payload];
  try {
    const [resultArgs, resultKwargs] = resultEnvelope(await requireSession().call(procedure, args, kwargs));
    log('result', `${procedure} ${compact(resultArgs)}${Object.keys(resultKwargs).length ? ` ${compact(resultKwargs)}` : ''}`);
  } catch (err) {
    log('error', `${procedure} ${describeError(err)}`);
  }
});

byId('clear-log').addEventListener('click', () => byId('log').replaceChildren());

/** Autobahn retries a lost connection itself, but not one the router ended with GOODBYE (a gateway restart). */
const REOPEN_DELAY_MS = 2000;

/**
 * The credential (a JWT or an API key) the page signs in with, kept for this tab only; sent in the WAMP ticket
 * exchange over the websocket, never in the URL.
 */
let credential = sessionStorage.getItem('mesh-credential') || '';
let connection = null;

function showIdentity(details) {
  byId('identity').textContent = details ? `${details.authid} (${details.authrole}, ${details.authmethod})` : 'nobody';
}

/** Opens a connection: ticket authentication with the credential when there is one, else anonymous. */
function openConnection() {
  const ticket = credential;
  const opened = new autobahn.Connection({
    url,
    realm,
    max_retries: -1,
    initial_retry_delay: 0.5,
    max_retry_delay: 5,
    retry_if_unreachable: true,
    ...(ticket ? { authmethods: ['ticket'], onchallenge: () => ticket } : {}),
  });
  opened.onopen = (newSession, details) => {
    session = newSession;
    showState('connected', `${url} realm ${realm}, session ${newSession.id}`);
    showIdentity(details);
    log('connected', `session ${newSession.id} as ${details.authid}`);
    for (const topic of subscribed.keys()) subscribe(topic).catch((err) => log('error', describeError(err)));
    document.dispatchEvent(new CustomEvent('mesh-session'));
  };
  opened.onclose = (reason, details) => {
    session = null;
    for (const item of subscribed.values()) item.dataset.subscribed = 'false';
    if (connection !== opened) return true;
    // A refused sign-in (ABORT) is not retried: the user has to sign in again or sign out.
    if (/authentication_failed|no_auth_method|not_authorized/.test(details.reason || '')) {
      showState('refused', `${details.reason}${details.message ? `: ${details.message}` : ''}`);
      showIdentity(null);
      log('error', `sign-in refused: ${details.reason}`);
      return true;
    }
    const delay = details.will_retry ? details.retry_delay * 1000 : REOPEN_DELAY_MS;
    showState('reconnecting', `in ${(delay / 1000).toFixed(1)} s (${details.reason || reason})`);
    if (!details.will_retry) setTimeout(() => connection === opened && opened.open(), delay);
    return false;
  };
  connection = opened;
  showState('connecting');
  opened.open();
}

/** Closes the current connection (it is not reopened) and opens one with the current credential. */
function reconnect() {
  const previous = connection;
  connection = null;
  try {
    if (previous) previous.close('wamp.close.normal');
  } catch {
    // Already closed (a refused sign-in): nothing to stop.
  }
  openConnection();
}

onSubmit('sign-in-form', () => {
  credential = byId('credential').value.trim();
  byId('credential').value = '';
  if (credential) sessionStorage.setItem('mesh-credential', credential);
  else sessionStorage.removeItem('mesh-credential');
  reconnect();
});

byId('sign-out-button').addEventListener('click', () => {
  credential = '';
  sessionStorage.removeItem('mesh-credential');
  log('signed-out', 'connecting anonymously');
  reconnect();
});

openConnection();
