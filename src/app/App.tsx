import { lazy, Suspense, useEffect, useState } from 'react';
import { backendFromSearch, engineFromSearch, modelUrlFromSearch } from './lib/query';
import { useAdaptedStore } from './stores/adapted-store';
import { useModelStore } from './stores/model-store';
import { env } from '../env';
import { ModelHeader } from './components/ModelHeader';
import { ModelPicker } from './components/ModelPicker';
import { AppStatus } from './components/AppStatus';
import { ReplayView } from './predict/ReplayView';
import { TypeView } from './predict/TypeView';
import './App.css';

/**
 * Loaded when the tab is first opened: the reports (docs/results.json, docs/scaling.json), chart
 * specs and (later still) the chart library, the generation view, and the fine-tuning view with
 * its stores stay out of the main bundle.
 */
const EvaluationView = lazy(() => import('./evaluation/EvaluationView').then((m) => ({ default: m.EvaluationView })));
const ScalingView = lazy(() => import('./scaling/ScalingView').then((m) => ({ default: m.ScalingView })));
const GenerateView = lazy(() => import('./generate/GenerateView').then((m) => ({ default: m.GenerateView })));
const FinetuneView = lazy(() => import('./finetune/FinetuneView').then((m) => ({ default: m.FinetuneView })));

/** Top-level sections. */
const SECTIONS = [
  { id: 'predict', label: 'Predict', testId: 'section-predict' },
  { id: 'generate', label: 'Generate', testId: 'tab-generate' },
  { id: 'evaluation', label: 'Evaluation', testId: 'tab-evaluation' },
  { id: 'finetune', label: 'Fine-tune', testId: 'tab-finetune' },
  { id: 'scaling', label: 'Scaling', testId: 'tab-scaling' },
] as const;
type SectionId = (typeof SECTIONS)[number]['id'];

const PREDICT_TABS = [
  {
    id: 'replay',
    label: 'Replay',
    hint: 'Step through recorded sequences and compare predictions with what happened.',
  },
  { id: 'type', label: 'Type', hint: 'Build a sequence of your own and see what the model expects next.' },
] as const;
type PredictTab = (typeof PREDICT_TABS)[number]['id'];

/** The section and Predict tab a URL hash names (#type, #generate, …); anything else is Predict → Replay. */
function fromHash(hash: string): { section: SectionId; tab?: PredictTab } {
  const id = hash.slice(1);
  if (id === 'type' || id === 'replay') return { section: 'predict', tab: id };
  const section = SECTIONS.find((s) => s.id === id);
  return section ? { section: section.id } : { section: 'predict', tab: 'replay' };
}

function setHash(hash: string) {
  history.replaceState(null, '', `${location.pathname}${location.search}#${hash}`);
}

export function App() {
  const load = useModelStore((s) => s.load);
  const [backendParam] = useState(() => backendFromSearch(location.search));
  const [engineParam] = useState(() => {
    const param = engineFromSearch(location.search);
    env.engine = param.engine; // read by the pipeline when it loads a model
    return param;
  });
  const [modelParam] = useState(() => modelUrlFromSearch(location.search, location.href));
  /** Why the model of `?model=` was not opened (then the shipped model is used). */
  const [modelParamError, setModelParamError] = useState<string | null>(
    modelParam && 'error' in modelParam ? modelParam.error : null,
  );
  const [section, setSection] = useState<SectionId>(() => fromHash(location.hash).section);
  const [tab, setTab] = useState<PredictTab>(() => fromHash(location.hash).tab ?? 'replay');

  // A hash typed into the address bar or followed from a link switches the view (setHash below
  // uses replaceState, which fires no hashchange).
  useEffect(() => {
    const follow = () => {
      const next = fromHash(location.hash);
      setSection(next.section);
      if (next.tab) setTab(next.tab);
    };
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, []);

  useEffect(() => {
    if (modelParam && 'url' in modelParam) {
      // Checked in full first (manifest, shard sizes and hashes, values); a bad one leaves the shipped model.
      void useAdaptedStore
        .getState()
        .openUrl(modelParam.url)
        .then((ok) => {
          if (ok) return;
          setModelParamError(
            `${useAdaptedStore.getState().openErrors.join('; ') || useModelStore.getState().error || 'it could not be loaded'}`,
          );
          void load(env.modelUrl, backendParam.backend);
        });
    } else void load(env.modelUrl, backendParam.backend);
  }, [load, backendParam.backend, modelParam]);

  const chooseTab = (id: PredictTab) => {
    setTab(id);
    setHash(id);
  };
  const chooseSection = (id: SectionId) => {
    setSection(id);
    setHash(id === 'predict' ? tab : id);
  };

  return (
    <div className="app">
      <header className="app-header">
        <div className="brand">
          <h1>BehaveGPT Web</h1>
          <p className="tagline">
            A GPT-style model of smart-home behavior, running in your browser with TensorFlow.js.
          </p>
        </div>
        <div className="sections" role="tablist" aria-label="Sections">
          {SECTIONS.map((s) => (
            <button
              key={s.id}
              type="button"
              role="tab"
              id={`section-${s.id}`}
              aria-selected={section === s.id}
              aria-controls={`panel-${s.id}`}
              onClick={() => chooseSection(s.id)}
              data-testid={s.testId}
            >
              {s.label}
            </button>
          ))}
        </div>
      </header>

      <AppStatus />
      {[backendParam.warning, engineParam.warning].filter(Boolean).map((warning) => (
        <p key={warning} className="warning" role="alert">
          {warning}
        </p>
      ))}
      {modelParamError && (
        <div className="error-box" role="alert" data-testid="model-param-error">
          <strong>The model named in the address (?model=) was not opened.</strong>
          <p>{modelParamError}</p>
          <p className="muted">The shipped model is used instead.</p>
        </div>
      )}
      <ModelHeader />

      <main id={`panel-${section}`} role="tabpanel" aria-labelledby={`section-${section}`}>
        {section === 'predict' ? (
          <>
            <ModelPicker />
            <div className="subtabs" role="tablist" aria-label="Predict mode">
              {PREDICT_TABS.map((t) => (
                <button
                  key={t.id}
                  type="button"
                  role="tab"
                  id={`tab-${t.id}`}
                  aria-selected={tab === t.id}
                  aria-controls={`tabpanel-${t.id}`}
                  onClick={() => chooseTab(t.id)}
                  data-testid={`tab-${t.id}`}
                >
                  {t.label}
                </button>
              ))}
            </div>
            {PREDICT_TABS.map((t) => (
              <section
                key={t.id}
                id={`tabpanel-${t.id}`}
                role="tabpanel"
                aria-labelledby={`tab-${t.id}`}
                hidden={tab !== t.id}
                className="panel"
              >
                <p className="hint">{t.hint}</p>
                {tab === t.id && (t.id === 'replay' ? <ReplayView /> : <TypeView />)}
              </section>
            ))}
          </>
        ) : section === 'generate' ? (
          <section className="panel standalone" aria-label="Generate">
            <ModelPicker />
            <p className="hint">
              Let the model write a trajectory: continue a replayed or typed sequence (or start from a time alone),
              event by event, and compare what it generates with real behavior.
            </p>
            <Suspense fallback={<p className="muted small">Loading…</p>}>
              <GenerateView />
            </Suspense>
          </section>
        ) : section === 'evaluation' ? (
          <section className="panel standalone" aria-label="Evaluation">
            <p className="hint">
              How BehaveGPT and the baselines predict the next behavior on held-out test sequences.
            </p>
            <Suspense fallback={<p className="muted small">Loading…</p>}>
              <EvaluationView />
            </Suspense>
          </section>
        ) : section === 'scaling' ? (
          <section className="panel standalone" aria-label="Scaling">
            <p className="hint">
              How test loss falls with model size and training data: the grid of cross-entropy runs and the fitted
              scaling law.
            </p>
            <Suspense fallback={<p className="muted small">Loading…</p>}>
              <ScalingView />
            </Suspense>
          </section>
        ) : (
          <section className="panel standalone" aria-label="Fine-tune">
            <p className="hint">
              Adapt the model in use to your own behavior log, on this device: nothing is uploaded, and the adapted
              model is kept in this browser.
            </p>
            <ModelPicker label="Start from" />
            <Suspense fallback={<p className="muted small">Loading…</p>}>
              <FinetuneView />
            </Suspense>
          </section>
        )}
      </main>

      <footer className="app-footer muted small">
        Data: Samsung SmartThings action logs (Jeon et al., CIKM 2022). Add <code>?backend=webgpu|wasm|webgl|cpu</code>{' '}
        to the URL to force a TensorFlow.js backend. Build <span data-testid="app-build">{__BEHAVEGPT_BUILD__}</span>.
      </footer>
    </div>
  );
}
