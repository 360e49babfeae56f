/**
 * The dashboard proper, loaded by main.tsx once it has asked for the engine's status: the
 * transport (which takes that first answer), the store and the first render.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createEngineClient } from '../../protocol/engine-api.js';
import { App, FullPage } from './App.js';
import type { EarlyStart } from './boot.js';
import { DashboardProvider } from './context.js';
import { createDashboard } from './store.js';
import { detectTransport } from './transport.js';

const FIRST_PAINT_WAIT_MS = 150;

export function start(early: EarlyStart, container: HTMLElement): void {
  const root = createRoot(container);
  const transport = detectTransport(window, early);
  if (!transport) {
    root.render(
      <FullPage title="Open the dashboard from the worker">
        <p>This page needs the address the Idleforge worker prints when it starts with --dashboard: it carries the key that lets this page talk to the engine.</p>
      </FullPage>,
    );
    return;
  }
  const dashboard = createDashboard(createEngineClient(transport.call), transport);
  dashboard.actions.start();
  // The first paint waits for the engine's status up to FIRST_PAINT_WAIT_MS: when it answers
  // quickly (it usually does), the page appears once, with its data, instead of flashing its
  // placeholders first (each frame painted costs tens of ms on a software-rendered machine).
  let shown = false;
  const show = (): void => {
    if (shown) return;
    shown = true;
    off();
    clearTimeout(timer);
    root.render(
      <StrictMode>
        <DashboardProvider value={dashboard}>
          <App />
        </DashboardProvider>
      </StrictMode>,
    );
  };
  const off = dashboard.store.subscribe((s) => {
    if (s.status.data !== null || s.status.error !== null || s.fatal !== null) show();
  });
  const timer = setTimeout(show, FIRST_PAINT_WAIT_MS);
}
