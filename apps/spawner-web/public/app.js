// The spawner page: no framework, no build step. Two server-sent event streams feed it: /api/watch
// (the pods table) and /api/pods/:name/watch (the followed pod's progress, events and phase). Each
// stream starts with a snapshot that replaces what the page shows, so a reconnect never doubles rows.

const STAGE_LABELS = {
  created: 'Created',
  scheduled: 'Scheduled',
  pulling: 'Pulling image',
  pulled: 'Image pulled',
  running: 'Running',
  finished: 'Finished',
};

const $ = (id) => document.getElementById(id);
const state = { config: null, current: null, podStream: null, tableStream: null, rows: new Map() };

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error ?? `${response.status} ${response.statusText}`);
  return data;
}

function notice(text, kind = 'error') {
  const element = $('notice');
  element.hidden = text === '';
  element.textContent = text;
  element.className = kind;
}

function clock(date = new Date()) {
  return date.toLocaleTimeString([], { hour12: false });
}

// ---- the followed pod -------------------------------------------------------------------------

function renderStages() {
  const list = $('stages');
  list.replaceChildren(
    ...state.config.stages.map((stage) => {
      const item = document.createElement('li');
      item.dataset.stage = stage;
      item.textContent = STAGE_LABELS[stage] ?? stage;
      return item;
    }),
  );
}

function showProgress(progress) {
  const bar = $('progress');
  bar.dataset.stage = progress.stage;
  bar.classList.toggle('failed', progress.failed);
  bar.setAttribute('aria-valuenow', String(progress.percent));
  bar.setAttribute('aria-valuetext', STAGE_LABELS[progress.stage] ?? progress.stage);
  $('progress-fill').style.width = `${progress.percent}%`;
  const stages = state.config.stages;
  const reached = stages.indexOf(progress.stage);
  for (const item of $('stages').children) {
    const index = stages.indexOf(item.dataset.stage);
    item.classList.toggle('done', index <= reached);
    item.classList.toggle('current', index === reached);
  }
}

function showPhase(phase) {
  const badge = $('phase');
  badge.dataset.phase = phase;
  badge.textContent = phase;
}

function addEvent(message) {
  const item = document.createElement('li');
  const time = document.createElement('time');
  time.textContent = clock();
  item.append(time, message);
  $('events').append(item);
  item.scrollIntoView({ block: 'nearest' });
}

function follow(pod) {
  state.podStream?.close();
  state.current = { name: pod.name, uid: pod.uid, gone: false };
  sessionStorage.setItem('spawner.current', JSON.stringify(state.current));
  $('pod-panel').hidden = false;
  $('pod-name').textContent = pod.name;
  $('events').replaceChildren();
  $('stop').disabled = false;
  showPhase(pod.phase);
  showProgress(pod.progress);
  markCurrentRow();

  const stream = new EventSource(`/api/pods/${encodeURIComponent(pod.name)}/watch`);
  state.podStream = stream;
  const data = (event) => JSON.parse(event.data);
  stream.addEventListener('snapshot', (event) => {
    const { pod: snapshot, progress } = data(event);
    $('events').replaceChildren();
    showPhase(snapshot.phase);
    showProgress(progress);
  });
  stream.addEventListener('message', (event) => {
    const { message, progress } = data(event);
    addEvent(message);
    showProgress(progress);
  });
  stream.addEventListener('phase', (event) => {
    const { phase, progress } = data(event);
    showPhase(phase);
    showProgress(progress);
  });
  stream.addEventListener('gone', () => {
    stream.close();
    state.current.gone = true;
    notice('');
    showPhase('Deleted');
    $('stop').disabled = true;
    addEvent('Pod deleted');
  });
  stream.addEventListener('failure', (event) => notice(`The pod stream failed: ${data(event).error}`));
  stream.addEventListener('error', () => {
    // EventSource reconnects by itself while the server is there; a pod that no longer exists is a 404.
    if (stream.readyState === EventSource.CLOSED && state.podStream === stream && !state.current?.gone) {
      notice(`Lost the stream of pod ${pod.name} (was it deleted?)`);
      $('stop').disabled = true;
    }
  });
}

async function start(event) {
  event.preventDefault();
  notice('');
  $('start').disabled = true;
  try {
    const pod = await api('POST', '/api/pods', {
      image: $('image').value.trim(),
      seconds: Number($('seconds').value),
      deleteWhenFinished: $('delete-when-finished').checked,
    });
    follow(pod);
  } catch (error) {
    notice(`Could not start a pod: ${error.message}`);
  } finally {
    $('start').disabled = false;
  }
}

async function stop() {
  const current = state.current;
  if (current === null) return;
  notice('');
  $('stop').disabled = true;
  try {
    await api(
      'DELETE',
      `/api/pods/${encodeURIComponent(current.name)}?uid=${encodeURIComponent(current.uid)}`,
    );
    notice(`Stopping ${current.name}…`, 'info');
  } catch (error) {
    $('stop').disabled = false;
    notice(`Could not stop ${current.name}: ${error.message}`);
  }
}

// ---- the pods table ---------------------------------------------------------------------------

function cell(text, className) {
  const td = document.createElement('td');
  if (className) td.className = className;
  td.textContent = text;
  return td;
}

function rowElement(pod) {
  const tr = document.createElement('tr');
  tr.dataset.name = pod.name;
  tr.dataset.uid = pod.uid;
  tr.dataset.phase = pod.phase;
  tr.classList.toggle('terminating', pod.terminating);
  const name = document.createElement('td');
  name.className = 'name';
  const link = document.createElement('a');
  link.href = '#';
  link.textContent = pod.name;
  link.title = 'Follow this pod';
  link.addEventListener('click', (event) => {
    event.preventDefault();
    follow(state.rows.get(pod.name) ?? pod);
  });
  name.append(link);
  const progress = document.createElement('td');
  const bar = document.createElement('div');
  bar.className = `progress mini${pod.progress.failed ? ' failed' : ''}`;
  bar.dataset.stage = pod.progress.stage;
  bar.title = STAGE_LABELS[pod.progress.stage] ?? pod.progress.stage;
  const fill = document.createElement('div');
  fill.className = 'fill';
  fill.style.width = `${pod.progress.percent}%`;
  bar.append(fill);
  progress.append(bar);
  const created = pod.createdAt ? clock(new Date(pod.createdAt)) : '';
  tr.append(
    name,
    cell(pod.terminating ? `${pod.phase} (terminating)` : pod.phase, 'phase'),
    progress,
    cell(pod.node ?? '–'),
    cell(pod.image ?? ''),
    cell(created),
  );
  return tr;
}

function renderTable() {
  const rows = [...state.rows.values()].sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''));
  document.querySelector('#pods tbody').replaceChildren(...rows.map(rowElement));
  $('no-pods').hidden = rows.length > 0;
  markCurrentRow();
}

function markCurrentRow() {
  for (const tr of document.querySelectorAll('#pods tbody tr')) {
    tr.classList.toggle('current', tr.dataset.uid === state.current?.uid);
  }
}

function watchTable() {
  const stream = new EventSource('/api/watch');
  state.tableStream = stream;
  const data = (event) => JSON.parse(event.data);
  stream.addEventListener('open', () => $('live').classList.add('on'));
  stream.addEventListener('snapshot', (event) => {
    state.rows = new Map(data(event).pods.map((pod) => [pod.name, pod]));
    renderTable();
  });
  stream.addEventListener('pod', (event) => {
    const pod = data(event);
    state.rows.set(pod.name, pod);
    renderTable();
  });
  stream.addEventListener('removed', (event) => {
    const { name, uid } = data(event);
    if (state.rows.get(name)?.uid === uid) state.rows.delete(name);
    renderTable();
  });
  stream.addEventListener('failure', (event) => notice(`The pods table stream failed: ${data(event).error}`));
  stream.addEventListener('error', () => $('live').classList.remove('on'));
}

// ---- start ------------------------------------------------------------------------------------

async function init() {
  try {
    state.config = await api('GET', '/api/config');
  } catch (error) {
    $('where').textContent = `cannot reach the spawner: ${error.message}`;
    return;
  }
  const { config } = state;
  $('where').textContent = `namespace ${config.namespace} · ${config.description}`;
  $('namespace').textContent = config.namespace;
  $('image').value = config.image;
  $('seconds').value = String(config.seconds);
  renderStages();
  $('spawn-form').addEventListener('submit', start);
  $('stop').addEventListener('click', stop);
  watchTable();
  const saved = JSON.parse(sessionStorage.getItem('spawner.current') ?? 'null');
  if (saved !== null) {
    api('GET', '/api/pods')
      .then(({ pods }) => {
        const pod = pods.find((item) => item.uid === saved.uid);
        if (pod !== undefined) follow(pod);
      })
      .catch(() => {});
  }
  document.body.dataset.ready = 'true';
}

init();
