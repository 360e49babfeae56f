/** The dashboard's entry: finds its way to the engine, then renders. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createEngineClient } from '../../protocol/engine-api.js';
import { App, FullPage } from './App.js';
import { DashboardProvider } from './context.js';
import { createDashboard } from './store.js';
import { detectTransport } from './transport.js';
import './styles.css';

const root = createRoot(document.getElementById('root')!);
const transport = detectTransport(window);
if (!transport) {
  root.render(
    <FullPage title="Open the dashboard from the worker">
      <p>This page needs the address the Idleforge worker prints when it starts with --dashboard: it carries the key that lets this page talk to the engine.</p>
    </FullPage>,
  );
} else {
  const dashboard = createDashboard(createEngineClient(transport.call), transport);
  dashboard.actions.start();
  root.render(
    <StrictMode>
      <DashboardProvider value={dashboard}>
        <App />
      </DashboardProvider>
    </StrictMode>,
  );
}
