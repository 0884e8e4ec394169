// BehaveGPT in a host page: load the model shipped in the package, predict, generate, fine-tune.
import { createWorkerModel, finetune, listAdaptedModels, loadModel, newModelId, saveAdaptedModel } from 'behavegpt-web';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const open = params.get('worker') === '1' ? createWorkerModel : loadModel;
const MODEL_URL = new URL('./node_modules/behavegpt-web/dist-lib/models/behavegpt-us/model.json', location.href);

let model = null;

async function load(source) {
  const status = $('status');
  status.dataset.status = 'loading';
  try {
    const t0 = performance.now();
    const loaded = await open(source, {
      backend: params.get('backend') ?? 'auto',
      onProgress: (p) => (status.textContent = `${p.stage}: ${p.message}`),
    });
    status.textContent = `${loaded.info.name} on ${loaded.backend.name} (${loaded.backend.reason}), ready in ${Math.round(performance.now() - t0)} ms`;
    status.dataset.status = 'ready';
    status.dataset.backend = loaded.backend.name;
    status.dataset.behaviors = String(loaded.info.behaviors.length);
    for (const id of ['predict', 'generate', 'finetune']) $(id).disabled = false;
    // The model in use, for tests and the console (e.g. `await behavegptModel.scoreLog(…)`).
    window.behavegptModel = loaded;
    return loaded;
  } catch (e) {
    status.textContent = `${e.name}: ${e.message}`;
    status.dataset.status = 'error';
    throw e;
  }
}

/** "behavior, weekday, slot" lines → events (the data has no places: location '<unknown>'). */
function history() {
  return $('history')
    .value.split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [behavior, weekday, slot] = line.split(',').map((s) => s.trim());
      return { behavior, weekday: Number(weekday), slot: Number(slot), location: '<unknown>' };
    });
}

function show(list, rows, item) {
  list.replaceChildren(
    ...rows.map((row) => {
      const li = document.createElement('li');
      Object.assign(li.dataset, item(row).data);
      li.textContent = item(row).text;
      return li;
    }),
  );
}

async function predict() {
  const list = $('predictions');
  list.dataset.status = 'loading';
  const at = { weekday: Number($('weekday').value), slot: Number($('slot').value), location: '<unknown>' };
  try {
    const top = await model.predictNext(history(), at, { k: 5 });
    show(list, top, (p) => ({
      text: `${p.behavior} ${(100 * p.probability).toFixed(1)}%`,
      data: { behavior: p.behavior, probability: String(p.probability) },
    }));
    list.dataset.status = 'ready';
  } catch (e) {
    list.textContent = e.message;
    list.dataset.status = 'error';
  }
}
$('predict').onclick = predict;

let generating = null;
$('generate').onclick = async () => {
  generating = new AbortController();
  $('stop').disabled = false;
  const list = $('generated');
  list.replaceChildren();
  list.dataset.status = 'running';
  const days = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  for await (const e of model.generate(history(), { maxEvents: 20, seed: 1, signal: generating.signal })) {
    const li = document.createElement('li');
    li.dataset.behavior = e.behavior;
    li.textContent = `${days[e.weekday]} ${e.slot * 3}–${e.slot * 3 + 3} h: ${e.behavior}`;
    list.append(li);
  }
  list.dataset.status = generating.signal.aborted ? 'stopped' : 'done';
  $('stop').disabled = true;
};
$('stop').onclick = () => generating?.abort();

let training = null;
$('finetune').onclick = async () => {
  const file = $('log').files[0];
  const status = $('finetune-status');
  if (!file) {
    status.textContent = 'Choose a log file first.';
    return;
  }
  training = new AbortController();
  $('cancel').disabled = false;
  status.dataset.status = 'running';
  try {
    const result = await finetune(model, file, {
      maxEpochs: 1,
      signal: training.signal,
      onProgress: (event) => {
        if (event.type === 'stage') status.textContent = event.message;
        if (event.type === 'progress') $('finetune-progress').value = event.progress.step / event.progress.totalSteps;
      },
    });
    const recall = (m) => `${(100 * m['weighted_recall@5']).toFixed(1)}%`;
    status.textContent = `${result.name}: held-out recall@5 ${recall(result.before)} → ${recall(result.after)}`;
    status.dataset.status = 'done';
    // Kept in this browser: it outlives the page (listAdaptedModels, getAdaptedModel to load it again).
    const { name, dataName, before, after, files } = result;
    await saveAdaptedModel({
      id: newModelId(),
      name,
      dataName,
      createdAt: Date.now(),
      metrics: { before, after },
      ...files,
    });
    await listSaved();
    model.dispose();
    model = await load(result.files); // predictions now come from the adapted model
  } catch (e) {
    status.textContent = e.name === 'AbortError' ? 'Cancelled: nothing changed.' : e.message;
    status.dataset.status = e.name === 'AbortError' ? 'cancelled' : 'error';
  } finally {
    $('cancel').disabled = true;
  }
};
$('cancel').onclick = () => training?.abort();

async function listSaved() {
  const saved = await listAdaptedModels();
  show($('saved'), saved, (m) => ({ text: `${m.name} (${Math.round(m.bytes / 1024)} KiB)`, data: { id: m.id } }));
}
await listSaved();

model = await load(MODEL_URL);
await predict(); // what the default history leads to, at once
