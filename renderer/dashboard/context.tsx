/** The dashboard's store and actions, handed down through React context. */
import { createContext, useContext, type ReactNode } from 'react';
import { useStore } from 'zustand';
import type { Dashboard, DashboardActions, DashboardState } from './store.js';

const DashboardContext = createContext<Dashboard | null>(null);

export function DashboardProvider({ value, children }: { value: Dashboard; children: ReactNode }) {
  return <DashboardContext.Provider value={value}>{children}</DashboardContext.Provider>;
}

function useDashboardContext(): Dashboard {
  const d = useContext(DashboardContext);
  if (!d) throw new Error('useDashboard outside <DashboardProvider>');
  return d;
}

/** A slice of the state; re-renders only when it changes (select stable values). */
export function useDashboard<T>(selector: (s: DashboardState) => T): T {
  return useStore(useDashboardContext().store, selector);
}

export function useActions(): DashboardActions {
  return useDashboardContext().actions;
}
