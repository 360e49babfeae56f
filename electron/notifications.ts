/**
 * When the desktop app tells the user something unasked, decided from consecutive engine
 * statuses: work started because the PC became idle, work stopped because the GPU got too hot, and
 * work paused because the GPU returned wrong results (the sentinel, worker/costs/sentinel.ts); and,
 * from the rigs' link (worker/rigs/), another of the owner's rigs went offline or stopped.
 * Nothing else pops up: every other change shows in the tray.
 */
import type { EngineStatusView } from '../protocol/index.js';

export interface Notice {
  kind: 'idle-start' | 'heat-stop' | 'gpu-faults' | 'rig-alert';
  title: string;
  body: string;
}

export class NoticeDecider {
  /** The last reason work was held back; cleared once work starts. */
  private lastBlock: EngineStatusView['blockedBy'] = null;
  private working = false;

  next(status: EngineStatusView): Notice | null {
    const wasWorking = this.working;
    this.working = status.state === 'working';
    if (status.blockedBy) {
      const fresh = status.blockedBy !== this.lastBlock;
      this.lastBlock = status.blockedBy;
      // Whatever came before: the user must look at the GPU before the hub's strikes suspend it.
      if (status.blockedBy === 'gpu-faults' && fresh) {
        return { kind: 'gpu-faults', title: 'Idleforge paused: your GPU returned wrong results', body: status.reason };
      }
      if (status.blockedBy === 'too-hot' && wasWorking && fresh) {
        return { kind: 'heat-stop', title: 'Idleforge stopped: the GPU is too hot', body: status.reason };
      }
      return null;
    }
    if (this.working && !wasWorking) {
      const becameIdle = this.lastBlock === 'user-active';
      this.lastBlock = null;
      if (becameIdle) {
        return {
          kind: 'idle-start',
          title: 'Idleforge is earning',
          body: 'Your PC is idle, so its GPU took on work. Touch the mouse or keyboard and it stops at once.',
        };
      }
    }
    return null;
  }
}

/** Another rig of the owner's went offline, came back, stopped for heat or had results rejected: said as it is. */
export function rigNotice(alert: { title: string; message: string }): Notice {
  return { kind: 'rig-alert', title: alert.title, body: alert.message };
}
