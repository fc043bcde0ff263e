// The spawner page: no framework, no build step. Two server-sent event streams feed it: /api/watch
// (the pods table) and /api/pods/:name/watch (the followed pod's progress, events and phase). Each
// stream starts with a snapshot that replaces what the page shows, so a reconnect never doubles rows
// and never leaves a stale phase on screen. Progress comes from the server only, from one place: the
// bar and the pod's row in the table show the same.

const STAGE_LABELS = {
  created: 'Created',
  scheduled: 'Scheduled',
  pulling: 'Pulling image',
  pulled: 'Image pulled',
  running: 'Running',
  finished: 'Finished',
};
const FINISHED = new Set(['Succeeded', 'Failed']);
// How long the page waits before it reopens a stream the browser gave up on, growing to the last.
const RETRY_MS = [500, 1_000, 2_000, 5_000, 10_000];

const $ = (id) => document.getElementById(id);
const state = {
  config: null,
  // The followed pod: { name, uid, phase, progress, gone }.
  current: null,
  podStream: null,
  podRetry: 0,
  podTimer: undefined,
  logStream: null,
  logTimer: undefined,
  starting: false,
  tableStream: null,
  tableRetry: 0,
  rows: new Map(),
  // Event lines by key (one Kubernetes event, however often it recurred), and those still to draw.
  lines: new Map(),
  pendingLines: new Map(),
  frame: 0,
};

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.error ?? `${response.status} ${response.statusText}`);
    error.status = response.status;
    error.data = data;
    throw error;
  }
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

/** This tab's id: the server lets one page have one live pod at a time. */
function session() {
  let id = sessionStorage.getItem('spawner.session');
  if (id === null) {
    id = crypto.randomUUID();
    sessionStorage.setItem('spawner.session', id);
  }
  return id;
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

/** What the bar says: what happened last (stopping, deleted, failed), else the stage. */
function progressLabel(progress) {
  if (progress.ending === 'deleted') return 'Deleted';
  if (progress.ending === 'stopping') return 'Stopping…';
  if (progress.failed) return 'Failed';
  return STAGE_LABELS[progress.stage] ?? progress.stage;
}

function showProgress(progress) {
  if (state.current !== null) state.current.progress = progress;
  const bar = $('progress');
  const label = progressLabel(progress);
  bar.dataset.stage = progress.stage;
  bar.dataset.ending = progress.ending ?? '';
  bar.classList.toggle('failed', progress.failed);
  bar.setAttribute('aria-valuenow', String(progress.percent));
  bar.setAttribute('aria-valuetext', label);
  $('progress-label').textContent = label;
  $('progress-fill').style.width = `${progress.percent}%`;
  const stages = state.config.stages;
  const reached = stages.indexOf(progress.stage);
  for (const item of $('stages').children) {
    const index = stages.indexOf(item.dataset.stage);
    item.classList.toggle('done', index <= reached);
    item.classList.toggle('current', index === reached && progress.ending === null);
  }
  updateButtons();
}

function showPhase(phase) {
  if (state.current !== null) state.current.phase = phase;
  const badge = $('phase');
  badge.dataset.phase = phase;
  badge.dataset.stale = 'false';
  badge.textContent = phase;
  badge.title = '';
  updateButtons();
}

/** How a container instance ended, in words: `exit code 3 (Error) at 10:00:05`. */
function describeExit(termination) {
  if (termination === null || termination === undefined) return '';
  const code =
    termination.signal === null
      ? `exit code ${termination.exitCode}`
      : `signal ${termination.signal} (exit code ${termination.exitCode})`;
  const reason = termination.reason ? ` (${termination.reason})` : '';
  const at = termination.finishedAt ? ` at ${clock(new Date(termination.finishedAt))}` : '';
  return `${code}${reason}${at}`;
}

// STATUS values kubectl shows for a pod in trouble (its container's waiting or terminated reason).
const TROUBLE =
  /BackOff|Err|Error|OOMKilled|Invalid|Failed|ContainerCannotRun|DeadlineExceeded|Evicted|Signal:|ExitCode:/;

/**
 * Shows the pod's container as a user follows it (`kubectl get pods` STATUS and RESTARTS, `kubectl
 * describe pod` Last State): a crash-looping container shows CrashLoopBackOff, its restarts and how
 * its last instance ended, and the kubelet's message while it waits.
 */
function showContainer(row) {
  const panel = $('container-state');
  if (row === undefined || row === null || row.status === undefined) return;
  panel.hidden = false;
  const status = $('pod-status');
  status.textContent = row.status || '–';
  status.dataset.status = row.status;
  status.dataset.trouble = String(TROUBLE.test(row.status));
  $('restarts').textContent = row.restarts;
  panel.dataset.restarts = String(row.restartCount);
  const container = row.container;
  const last = container?.lastTermination ?? null;
  $('last-exit-field').hidden = last === null;
  $('last-exit').textContent = describeExit(last);
  const message = $('container-message');
  const waiting = container?.state === 'waiting' && container.message ? container.message : '';
  message.hidden = waiting === '';
  message.textContent = waiting === '' ? '' : `${container.reason}: ${waiting}`;
}

/**
 * Shows whether the pod's stream is live. While it is not, the phase shown is only the last one seen
 * (it may have changed meanwhile): the badge says so, and the snapshot of the reconnected stream
 * replaces it with the phase read anew.
 */
function showStreamState(live, text = '') {
  const element = $('stream-state');
  element.hidden = live;
  element.textContent = text;
  $('pod-panel').dataset.stream = live ? 'live' : 'reconnecting';
  $('progress').dataset.stale = String(!live);
  if (!live && state.current?.phase) {
    const badge = $('phase');
    badge.dataset.stale = 'true';
    badge.textContent = `last seen ${state.current.phase}`;
    badge.title = 'The phase may have changed: the page is reconnecting to the pod';
  }
}

/** Queues one event line; lines are drawn once per frame, however many updates arrive. */
function queueLine(line) {
  state.pendingLines.set(line.key, line);
  if (state.frame === 0) state.frame = requestAnimationFrame(drawLines);
}

function drawLines() {
  state.frame = 0;
  const list = $('events');
  let added;
  for (const line of state.pendingLines.values()) {
    let item = state.lines.get(line.key);
    if (item === undefined) {
      item = document.createElement('li');
      item.dataset.key = line.key;
      state.lines.set(line.key, item);
      list.append(item);
      added = item;
    }
    fillLine(item, line);
  }
  state.pendingLines.clear();
  added?.scrollIntoView({ block: 'nearest' });
}

function fillLine(item, line) {
  item.classList.toggle('warning', line.type === 'Warning');
  const time = document.createElement('time');
  const seen = line.lastSeen ? new Date(line.lastSeen) : new Date();
  time.dateTime = seen.toISOString();
  time.textContent = clock(seen);
  const parts = [time];
  if (line.reason) {
    const reason = document.createElement('span');
    reason.className = 'reason';
    reason.textContent = line.reason;
    parts.push(reason);
  }
  parts.push(line.message);
  if (line.repeat) {
    const repeat = document.createElement('span');
    repeat.className = 'repeat';
    repeat.textContent = line.repeat;
    parts.push(repeat);
  }
  item.dataset.count = String(line.count);
  item.replaceChildren(...parts);
}

function clearLines() {
  if (state.frame !== 0) cancelAnimationFrame(state.frame);
  state.frame = 0;
  state.pendingLines.clear();
  state.lines.clear();
  $('events').replaceChildren();
}

/** A pod is live while it is pending or running and not being stopped: Start waits for it to end. */
function isLive(current) {
  return (
    current !== null &&
    !current.gone &&
    !FINISHED.has(current.phase) &&
    (current.progress?.ending ?? null) === null
  );
}

function updateButtons() {
  const current = state.current;
  const live = isLive(current);
  const start = $('start');
  start.disabled = state.starting || live;
  start.title = live ? `${current.name} is still ${current.phase ?? 'starting'}: stop it first` : '';
  $('stop').disabled = current === null || current.gone || current.progress?.ending != null;
}

function follow(pod) {
  const resume = state.current?.uid === pod.uid;
  closePodStream();
  state.current = { name: pod.name, uid: pod.uid, phase: pod.phase, progress: pod.progress, gone: false };
  sessionStorage.setItem('spawner.current', JSON.stringify({ name: pod.name, uid: pod.uid }));
  $('pod-panel').hidden = false;
  $('pod-name').textContent = pod.name;
  if (!resume) clearLines();
  showPhase(pod.phase);
  showProgress(pod.progress);
  if (!resume) $('container-state').hidden = true;
  showContainer(pod);
  markCurrentRow();
  openPodStream();
  $('logs-panel').hidden = !state.config.logs;
  if (!resume) $('logs').textContent = '';
  openLogStream(state.current);
}

function closePodStream() {
  state.podStream?.close();
  state.podStream = null;
  clearTimeout(state.podTimer);
  state.logStream?.close();
  state.logStream = null;
  clearTimeout(state.logTimer);
}

// ---- the followed pod's logs (only where the backend can read them) -----------------------------

const MAX_LOG_LINES = 2_000;

function openLogStream(current) {
  if (!state.config.logs || current.gone) return;
  const stream = new EventSource(
    `/api/pods/${encodeURIComponent(current.name)}/logs?uid=${encodeURIComponent(current.uid)}`,
  );
  state.logStream = stream;
  const mine = () => state.logStream === stream && state.current === current;
  const data = (event) => JSON.parse(event.data);
  // Each line is a node of its own (a text, or a restart's mark), so the oldest go first.
  const pending = [];
  let frame = 0;
  const draw = () => {
    frame = 0;
    const logs = $('logs');
    const atEnd = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
    logs.append(...pending.splice(0));
    // Keep the last lines only: a chatty container must not grow the page without bound.
    while (logs.childNodes.length > MAX_LOG_LINES) logs.firstChild.remove();
    if (atEnd) logs.scrollTop = logs.scrollHeight;
  };
  const queue = (node) => {
    pending.push(node);
    if (frame === 0) frame = requestAnimationFrame(draw);
  };
  const logState = (text) => {
    $('logs-state').textContent = text;
  };
  stream.addEventListener('reset', () => {
    if (!mine()) return;
    pending.length = 0;
    $('logs').replaceChildren();
    logState('');
  });
  stream.addEventListener('line', (event) => {
    if (!mine()) return;
    queue(document.createTextNode(`${data(event).text}\n`));
  });
  // The kubelet started the next instance of the container: a mark, then that instance's lines.
  stream.addEventListener('restart', (event) => {
    if (!mine()) return;
    const { container } = data(event);
    const mark = document.createElement('span');
    mark.className = 'log-mark';
    mark.dataset.restart = String(container?.restartCount ?? '');
    const ended = describeExit(container?.lastTermination);
    mark.textContent = `── restart ${container?.restartCount ?? ''}${ended ? `: the last instance ended with ${ended}` : ''} ──\n`;
    queue(mark);
    logState(`(following the instance after restart ${container?.restartCount ?? ''})`);
  });
  // The instance ended and the kubelet will start another, after its back-off.
  stream.addEventListener('waiting', (event) => {
    if (!mine()) return;
    const { container } = data(event);
    const ended = describeExit(container?.lastTermination);
    // The kubelet's reason while it waits (CrashLoopBackOff); a terminated state's is the exit's.
    const why = container?.state === 'waiting' && container.reason ? `${container.reason}: ` : '';
    logState(`(ended with ${ended || 'an exit'}; ${why}waiting for the kubelet to restart it)`);
  });
  stream.addEventListener('end', (event) => {
    if (!mine()) return;
    stream.close();
    state.logStream = null;
    const ended = describeExit(data(event).container?.lastTermination);
    logState(ended ? `(the container ended: ${ended})` : '(the container ended)');
  });
  stream.addEventListener('error', () => {
    if (!mine()) return;
    logState('(reconnecting…)');
    if (stream.readyState === EventSource.CLOSED) {
      state.logStream = null;
      state.logTimer = setTimeout(() => {
        if (state.current === current && state.logStream === null) openLogStream(current);
      }, 2_000);
    }
  });
}

function openPodStream() {
  const current = state.current;
  const stream = new EventSource(
    `/api/pods/${encodeURIComponent(current.name)}/watch?uid=${encodeURIComponent(current.uid)}`,
  );
  state.podStream = stream;
  const data = (event) => JSON.parse(event.data);
  const mine = () => state.podStream === stream && state.current === current;
  stream.addEventListener('snapshot', (event) => {
    if (!mine()) return;
    const { pod, progress } = data(event);
    state.podRetry = 0;
    showStreamState(true);
    showPhase(pod.phase);
    showProgress(progress);
    showContainer(pod);
  });
  stream.addEventListener('pod', (event) => {
    if (mine()) showContainer(data(event).pod);
  });
  stream.addEventListener('event', (event) => {
    if (mine()) queueLine(data(event));
  });
  stream.addEventListener('progress', (event) => {
    if (mine()) showProgress(data(event).progress);
  });
  stream.addEventListener('phase', (event) => {
    if (mine()) showPhase(data(event).phase);
  });
  stream.addEventListener('gone', (event) => {
    if (!mine()) return;
    closePodStream();
    gone(current, data(event).at);
  });
  stream.addEventListener('failure', (event) => {
    if (mine()) notice(`The pod stream failed: ${data(event).error}`);
  });
  stream.addEventListener('error', () => {
    if (!mine() || current.gone) return;
    showStreamState(false, `Reconnecting to the stream of ${current.name}…`);
    // CONNECTING: EventSource reconnects by itself (with Last-Event-ID). CLOSED: it gave up (the
    // server answered an error): ask whether the pod still exists, and reopen the stream if it does.
    if (stream.readyState === EventSource.CLOSED) {
      stream.close();
      state.podStream = null;
      recheckPod(current);
    }
  });
}

async function recheckPod(current) {
  try {
    const pod = await api(
      'GET',
      `/api/pods/${encodeURIComponent(current.name)}?uid=${encodeURIComponent(current.uid)}`,
    );
    if (state.current !== current) return;
    showPhase(pod.phase);
    showStreamState(false, `Reconnecting to the stream of ${current.name}…`);
  } catch (error) {
    if (state.current !== current) return;
    if (error.status === 404) {
      gone(current);
      return;
    }
  }
  const wait = RETRY_MS[Math.min(state.podRetry++, RETRY_MS.length - 1)];
  state.podTimer = setTimeout(() => {
    if (state.current === current && state.podStream === null) openPodStream();
  }, wait);
}

/** The followed pod is gone (`at`: when, by the cluster's clock, if known). */
function gone(current, at) {
  current.gone = true;
  notice('');
  showStreamState(true);
  showPhase('Deleted');
  showProgress({
    ...(current.progress ?? { stage: 'created', percent: 0, failed: false }),
    ending: 'deleted',
  });
  queueLine({
    key: `local:${current.uid}:gone`,
    type: null,
    reason: null,
    message: 'Pod deleted',
    count: 1,
    repeat: null,
    lastSeen: at ?? null,
  });
  updateButtons();
}

async function start(event) {
  event.preventDefault();
  if (state.starting || isLive(state.current)) return;
  notice('');
  state.starting = true;
  updateButtons();
  try {
    const pod = await api('POST', '/api/pods', {
      image: $('image').value.trim(),
      seconds: Number($('seconds').value),
      exitCode: Number($('exit-code').value),
      restartPolicy: $('restart-policy').value,
      deleteWhenFinished: $('delete-when-finished').checked,
      session: session(),
    });
    follow(pod);
  } catch (error) {
    // The server refuses a second live pod for this page and names the first: follow it again.
    if (error.status === 409 && error.data?.pod) follow(error.data.pod);
    notice(`Could not start a pod: ${error.message}`);
  } finally {
    state.starting = false;
    updateButtons();
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
    updateButtons();
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

function statusCell(pod) {
  const td = cell(pod.status ?? '', 'status');
  td.dataset.trouble = String(TROUBLE.test(pod.status ?? ''));
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
  bar.dataset.ending = pod.progress.ending ?? '';
  bar.dataset.percent = String(pod.progress.percent);
  bar.title = progressLabel(pod.progress);
  const fill = document.createElement('div');
  fill.className = 'fill';
  fill.style.width = `${pod.progress.percent}%`;
  bar.append(fill);
  progress.append(bar);
  const created = pod.createdAt ? clock(new Date(pod.createdAt)) : '';
  tr.append(
    name,
    cell(pod.terminating ? `${pod.phase} (terminating)` : pod.phase, 'phase'),
    statusCell(pod),
    cell(pod.restarts ?? '', 'restarts'),
    progress,
    cell(pod.node ?? '–', 'node'),
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

function showTableState(live) {
  $('live').classList.toggle('on', live);
  const label = $('live-label');
  label.textContent = live ? 'live' : 'reconnecting…';
  label.classList.toggle('reconnecting', !live);
  // The rows are only what was last seen until the reconnected stream's snapshot replaces them.
  $('pods').dataset.stale = String(!live);
}

function watchTable() {
  const stream = new EventSource('/api/watch');
  state.tableStream = stream;
  const data = (event) => JSON.parse(event.data);
  stream.addEventListener('snapshot', (event) => {
    state.tableRetry = 0;
    showTableState(true);
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
  stream.addEventListener('error', () => {
    showTableState(false);
    if (stream.readyState === EventSource.CLOSED) {
      const wait = RETRY_MS[Math.min(state.tableRetry++, RETRY_MS.length - 1)];
      setTimeout(watchTable, wait);
    }
  });
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
  // A pod that exits 3 with restartPolicy Always: the kubelet restarts it, then backs off (CrashLoopBackOff).
  $('crash-loop').addEventListener('click', () => {
    $('exit-code').value = '3';
    $('restart-policy').value = 'Always';
    $('seconds').value = '3';
  });
  watchTable();
  // After a reload the page follows its pod again, if it still exists.
  const saved = JSON.parse(sessionStorage.getItem('spawner.current') ?? 'null');
  if (saved !== null) {
    api('GET', `/api/pods/${encodeURIComponent(saved.name)}?uid=${encodeURIComponent(saved.uid)}`)
      .then((pod) => follow(pod))
      .catch(() => sessionStorage.removeItem('spawner.current'));
  }
  document.body.dataset.ready = 'true';
}

init();
