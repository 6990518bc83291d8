"""GraphQL over HTTP: the spec's own audit suite against a real node process.

The npm package `graphql-http` (the reference implementation of the
GraphQL-over-HTTP specification) exports `auditServer({ url })`, which sends
some sixty requests and grades each answer ok, warn or error. A real
`exchange serve` process (uvicorn on a free loopback port, temporary SQLite
database) must get zero errors and zero warnings.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.contract.conftest import live_server, run_node_script

AUDIT = """
import { auditServer } from 'graphql-http';
const results = await auditServer({ url: process.argv[2] });
const out = [];
for (const r of results) {
  let body = null;
  if (r.status !== 'ok' && r.response) {
    try { body = { status: r.response.status, headers: Object.fromEntries(r.response.headers), text: (await r.response.text()).slice(0, 400) }; }
    catch (e) { body = String(e); }
  }
  out.push({ id: r.id, name: r.name, status: r.status, reason: r.reason ?? null, response: body });
}
console.log(JSON.stringify(out));
"""


def test_graphql_http_audit_has_no_errors_and_no_warnings(tmp_path: Path) -> None:
    with live_server(tmp_path) as url:
        done = run_node_script(AUDIT, url + "/graphql", timeout=180)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert len(results) >= 50, results
    failing = [r for r in results if r["status"] != "ok"]
    summary = {s: sum(1 for r in results if r["status"] == s) for s in ("ok", "warn", "error")}
    assert not failing, f"audit {summary}:\n" + "\n".join(
        f"[{r['status']}] {r['name']}: {r['reason']}\n    {r['response']}" for r in failing
    )
