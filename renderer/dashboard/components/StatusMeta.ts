/** How each engine state looks: its tone (colour) and a short label. */
import type { EngineStatusView } from '../../../protocol/engine-api.js';

export type Tone = 'working' | 'waiting' | 'paused' | 'offline' | 'error' | 'starting';

export const STATE_LABEL: Record<EngineStatusView['state'], string> = {
  starting: 'Starting',
  working: 'Earning',
  waiting: 'Waiting',
  paused: 'Paused',
  offline: 'Hub offline',
  error: 'Problem',
};

export const toneOf = (state: EngineStatusView['state']): Tone => state;

/** True while the user has paused or snoozed the engine (the big button then resumes). */
export const isPausedByUser = (s: Pick<EngineStatusView, 'blockedBy'>): boolean => s.blockedBy === 'paused' || s.blockedBy === 'snoozed';
