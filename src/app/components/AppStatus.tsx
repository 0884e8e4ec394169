/// <reference types="vite-plugin-pwa/react" />
/**
 * The app as an installed, offline app: registers the service worker (vite-plugin-pwa; built
 * app only), says when it is ready to work offline, offers to reload when a new version is
 * waiting (the old one keeps running until then: old shell, old chunks), and says when the
 * device is offline and what that changes.
 */
import { useEffect, useState } from 'react';
import { useRegisterSW } from 'virtual:pwa-register/react';

/** How often an open page asks whether a new version was deployed. */
const UPDATE_CHECK_MS = 60 * 60 * 1000;

export function useOnline(): boolean {
  const [online, setOnline] = useState(() => navigator.onLine);
  useEffect(() => {
    const update = () => setOnline(navigator.onLine);
    window.addEventListener('online', update);
    window.addEventListener('offline', update);
    return () => {
      window.removeEventListener('online', update);
      window.removeEventListener('offline', update);
    };
  }, []);
  return online;
}

export function AppStatus() {
  const {
    needRefresh: [needRefresh],
    offlineReady: [offlineReady, setOfflineReady],
    updateServiceWorker,
  } = useRegisterSW({
    onRegisteredSW: (_url, registration) => {
      if (registration) setInterval(() => void registration.update().catch(() => {}), UPDATE_CHECK_MS);
    },
  });
  const online = useOnline();

  return (
    <>
      {!online && (
        <p className="warning" role="status" data-testid="offline-notice">
          You are offline. Predict, Generate, Fine-tune and your adapted models work on this device; Replay shows the
          demo sequences, since the SmartThings data is only served online.
        </p>
      )}
      {needRefresh && (
        <p className="warning" role="alert" data-testid="update-ready">
          A new version of BehaveGPT Web is ready.{' '}
          <button type="button" onClick={() => void updateServiceWorker(true)} data-testid="update-reload">
            Reload to update
          </button>
        </p>
      )}
      {offlineReady && !needRefresh && (
        <p className="notice muted small" role="status" data-testid="offline-ready">
          BehaveGPT Web is stored on this device and works offline.{' '}
          <button type="button" className="link" onClick={() => setOfflineReady(false)}>
            OK
          </button>
        </p>
      )}
    </>
  );
}
