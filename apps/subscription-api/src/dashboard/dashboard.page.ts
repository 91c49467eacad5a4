/**
 * "Settings → Webhooks": a single self-contained page that talks to this API with the API key the
 * user pastes (kept in sessionStorage only). List, add (with event selection), enable/disable,
 * rotate secret, delete, and each webhook's change history.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ODIS · Settings → Webhooks</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d3557;color:#fff;padding:14px 24px}header b{font-size:18px}
main{max-width:980px;margin:24px auto;padding:0 16px}
section{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:16px 20px;margin-bottom:18px}
h2{font-size:16px;margin:0 0 12px}label{display:block;margin:8px 0 4px;font-weight:600}
input[type=text],input[type=password],input[type=url]{width:100%;box-sizing:border-box;padding:7px 9px;border:1px solid #c5cbd5;border-radius:5px}
button{background:#1d3557;color:#fff;border:0;border-radius:5px;padding:7px 14px;cursor:pointer;margin-right:6px}
button.secondary{background:#e8ecf2;color:#1d2330}button.danger{background:#b3261e}
table{width:100%;border-collapse:collapse}td,th{text-align:left;padding:8px 6px;border-bottom:1px solid #eef0f3;vertical-align:top}
.status-active{color:#137333;font-weight:600}.status-disabled{color:#b3261e;font-weight:600}
.msg{padding:8px 12px;border-radius:5px;margin-top:10px}.ok{background:#e6f4ea}.err{background:#fce8e6}
code{background:#eef0f3;padding:1px 5px;border-radius:4px}small{color:#5f6b7a}
</style></head><body>
<header><b>ODIS AI</b> &nbsp;·&nbsp; Settings → Webhooks</header>
<main>
<section><h2>API key</h2>
<input id="key" type="password" placeholder="odis_sk_…" autocomplete="off">
<div style="margin-top:8px"><button id="connect">Load webhooks</button><small>The key stays in this browser tab.</small></div>
<div id="keymsg"></div></section>
<section><h2>Add Webhook</h2>
<label for="url">Endpoint URL</label><input id="url" type="url" placeholder="https://your-server.com/webhooks/odis">
<label>Events</label><div id="events"></div>
<label for="secret">Signing secret <small>(optional: leave empty to generate one)</small></label><input id="secret" type="text" placeholder="at least 16 characters">
<label for="desc">Description <small>(optional)</small></label><input id="desc" type="text">
<div style="margin-top:12px"><button id="save">Save</button></div><div id="addmsg"></div></section>
<section><h2>Your webhooks</h2><table><thead><tr><th>URL</th><th>Events</th><th>Status</th><th></th></tr></thead><tbody id="list"><tr><td colspan="4"><small>Enter your API key to load.</small></td></tr></tbody></table>
<div id="listmsg"></div></section>
<section><h2>Delivery IPs</h2><p>Webhook requests originate from: <span id="ips"><small>load with your key</small></span></p></section>
<section id="histsec" hidden><h2>History of <code id="histid"></code></h2><table><tbody id="hist"></tbody></table></section>
</main>
<script>
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
$('key').value = sessionStorage.getItem('odisKey') || '';
async function api(method, path, body, headers) {
  const res = await fetch(path, { method, headers: { Authorization: 'Bearer ' + $('key').value.trim(), 'Content-Type': 'application/json', ...(headers||{}) }, body: body ? JSON.stringify(body) : undefined });
  const data = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error((data && data.error && data.error.message) || res.statusText);
  return data;
}
function show(el, text, ok) { $(el).innerHTML = '<div class="msg ' + (ok ? 'ok' : 'err') + '">' + esc(text) + '</div>'; }
async function loadTypes() {
  const types = await (await fetch('/v1/event-types', { headers: { Authorization: 'Bearer ' + $('key').value.trim() } })).json().catch(() => null);
  const list = types && types.data ? types.data.map((t) => t.type) : ['call.started', 'call.ended', 'appointment.created'];
  $('events').innerHTML = list.map((t) => '<label style="font-weight:400"><input type="checkbox" name="ev" value="' + esc(t) + '" checked> <code>' + esc(t) + '</code></label>').join('');
}
async function load() {
  sessionStorage.setItem('odisKey', $('key').value.trim());
  try {
    const [hooks, ips] = await Promise.all([api('GET', '/v1/webhooks?limit=100'), api('GET', '/v1/webhooks/ips')]);
    $('ips').innerHTML = ips.data.map((ip) => '<code>' + esc(ip) + '</code>').join(' ');
    $('list').innerHTML = hooks.data.length ? hooks.data.map((w) => '<tr><td>' + esc(w.url) + '<br><small>' + esc(w.id) + ' · secret …' + esc(w.secret_hint) + (w.description ? ' · ' + esc(w.description) : '') + '</small></td><td>' + w.events.map((e) => '<code>' + esc(e) + '</code>').join(' ') + '</td><td class="status-' + esc(w.status) + '">' + esc(w.status) + (w.disabled_reason ? '<br><small>' + esc(w.disabled_reason) + '</small>' : '') + '</td><td>' +
      (w.status === 'active' ? '<button class="secondary" data-act="disable" data-id="' + esc(w.id) + '" data-v="' + w.version + '">Disable</button>' : '<button data-act="enable" data-id="' + esc(w.id) + '" data-v="' + w.version + '">Re-enable</button>') +
      '<button class="secondary" data-act="history" data-id="' + esc(w.id) + '">History</button><button class="danger" data-act="delete" data-id="' + esc(w.id) + '" data-v="' + w.version + '">Delete</button></td></tr>').join('') : '<tr><td colspan="4"><small>No webhooks yet.</small></td></tr>';
    $('keymsg').innerHTML = '';
  } catch (e) { show('keymsg', e.message, false); }
}
$('connect').onclick = async () => { await loadTypes(); await load(); };
$('save').onclick = async () => {
  const events = [...document.querySelectorAll('input[name=ev]:checked')].map((c) => c.value);
  const body = { url: $('url').value.trim(), events };
  if ($('secret').value) body.secret = $('secret').value;
  if ($('desc').value) body.description = $('desc').value;
  try { const w = await api('POST', '/v1/webhooks', body); show('addmsg', 'Saved ' + w.id + (w.secret ? '. Your signing secret (shown once): ' + w.secret : ''), true); $('secret').value=''; load(); }
  catch (e) { show('addmsg', e.message, false); }
};
$('list').onclick = async (ev) => {
  const b = ev.target.closest('button'); if (!b) return;
  const id = b.dataset.id, v = b.dataset.v;
  try {
    if (b.dataset.act === 'history') {
      const h = await api('GET', '/v1/webhooks/' + id + '/events');
      $('histsec').hidden = false; $('histid').textContent = id;
      $('hist').innerHTML = h.data.map((e) => '<tr><td>v' + e.version + '</td><td><code>' + esc(e.type) + '</code></td><td>' + esc(e.actor) + '</td><td>' + esc(e.occurred_at) + '</td><td><small>' + esc(JSON.stringify(e.data)) + '</small></td></tr>').join('');
      return;
    }
    if (b.dataset.act === 'delete') { if (!confirm('Delete ' + id + '?')) return; await api('DELETE', '/v1/webhooks/' + id, null, { 'If-Match': '"' + v + '"' }); }
    else await api('PATCH', '/v1/webhooks/' + id, { status: b.dataset.act === 'enable' ? 'active' : 'disabled' }, { 'If-Match': '"' + v + '"' });
    show('listmsg', 'Done.', true); load();
  } catch (e) { show('listmsg', e.message, false); }
};
loadTypes();
</script></body></html>`;
