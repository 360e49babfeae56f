export const BODY_LIMITS = { none: 1024, challenge: 1024, login: 16 * 1024, heartbeat: 16 * 1024, payoutAddress: 1024, lease: 2 * 1024 } as const;
