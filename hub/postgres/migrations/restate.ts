/** How a migration restates an older version's function (`hub_lease`): its text with checked changes. */

/** A change of a function's text: `from` replaced by `to`, found exactly `times` times. */
export interface TextChange {
  readonly from: string;
  readonly to: string;
  readonly times: number;
}

/** `fn` (an older version's function) with each change made exactly as often as written; `who` names the restating migration and what it restates, in errors. */
export function restate(fn: string, changes: readonly TextChange[], who: string): string {
  let out = fn;
  for (const c of changes) {
    const parts = out.split(c.from);
    if (parts.length !== c.times + 1) throw new Error(`${who}: finds "${c.from}" ${parts.length - 1} times, not ${c.times}`);
    out = parts.join(c.to);
  }
  return out;
}
