/**
 * A one-page status view served by the headless worker until the React dashboard replaces it:
 * the state in one sentence, earnings, and pause/resume. It talks only to the engine API.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Idleforge</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; background: #0f1115; color: #e8eaf0; margin: 0; display: grid; place-items: center; min-height: 100vh; }
  main { width: min(560px, 92vw); background: #171a21; border-radius: 16px; padding: 28px; box-shadow: 0 8px 30px #0008; }
  h1 { font-size: 18px; margin: 0 0 16px; color: #9aa3b5; font-weight: 600; }
  #state { font-size: 24px; margin: 0 0 20px; }
  .row { display: flex; gap: 24px; margin-bottom: 20px; }
  .k { color: #9aa3b5; font-size: 13px; } .v { font-size: 20px; }
  button { font: inherit; padding: 10px 18px; border-radius: 10px; border: 0; background: #3b82f6; color: white; cursor: pointer; }
  button:focus-visible { outline: 3px solid #93c5fd; }
  #error { color: #fca5a5; min-height: 1.5em; }
</style></head>
<body><main>
  <h1>Idleforge worker</h1>
  <p id="state" role="status" aria-live="polite">Connecting…</p>
  <div class="row">
    <div><div class="k">Earned today</div><div class="v" id="today">–</div></div>
    <div><div class="k">This week</div><div class="v" id="week">–</div></div>
    <div><div class="k">GPU temperature</div><div class="v" id="temp">–</div></div>
  </div>
  <button id="toggle" type="button">Pause</button>
  <p id="error" role="alert"></p>
</main>
<script>
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  const call = async (method, params = {}) => {
    const r = await fetch('/api/v1/' + method, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body: JSON.stringify(params) });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error ? body.error.message : 'error ' + r.status);
    return body;
  };
  const units = (v, d) => { const s = BigInt(v), b = 10n ** BigInt(d); const f = (s % b).toString().padStart(d, '0').slice(0, 6).replace(/0+$/, ''); return (s / b).toString() + (f ? '.' + f : ''); };
  let paused = false;
  const show = (s) => {
    document.getElementById('state').textContent = s.reason;
    document.getElementById('today').textContent = units(s.earnedToday, s.token.decimals) + ' ' + s.token.symbol;
    document.getElementById('week').textContent = units(s.earnedThisWeek, s.token.decimals) + ' ' + s.token.symbol;
    document.getElementById('temp').textContent = s.temperatureC === null ? 'not readable' : Math.round(s.temperatureC) + ' / ' + s.temperatureLimitC + ' °C';
    paused = s.blockedBy === 'paused' || s.blockedBy === 'snoozed';
    document.getElementById('toggle').textContent = paused ? 'Resume' : 'Pause';
  };
  const refresh = () => call('getStatus').then(show, (e) => { document.getElementById('error').textContent = 'Offline: ' + e.message; });
  document.getElementById('toggle').onclick = () => call(paused ? 'resume' : 'pause').then(refresh, (e) => { document.getElementById('error').textContent = e.message; });
  refresh();
  setInterval(refresh, 2000);
</script></body></html>`;
