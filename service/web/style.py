"""The overview page's stylesheet, inlined: one request, readable from phone to laptop."""

CSS = """
:root { color-scheme: light dark; --fg: #1d2330; --muted: #667085; --line: #d0d5dd;
  --bg: #ffffff; --card: #f8f9fb; --ok: #067647; --bad: #b42318; --accent: #1849a9; }
@media (prefers-color-scheme: dark) { :root { --fg: #e4e7ec; --muted: #98a2b3;
  --line: #344054; --bg: #0c111d; --card: #161b26; --ok: #47cd89; --bad: #f97066;
  --accent: #84adff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--fg); background: var(--bg); }
header, main { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1rem; border-bottom: 1px solid var(--line); }
h1 { margin: 0; font-size: 1.5rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .25rem; }
h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
a { color: var(--accent); }
nav { display: flex; flex-wrap: wrap; gap: .25rem .9rem; padding: .5rem 0 .75rem; }
section { background: var(--card); border: 1px solid var(--line); border-radius: .5rem;
  padding: .25rem 1rem 1rem; margin: 1rem 0; }
.muted, .note { color: var(--muted); }
.note { font-size: .85em; }
.leader { margin: .25rem 0 .5rem; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.cand { white-space: nowrap; font-weight: 600; }
tr.top td { background: color-mix(in srgb, var(--ok) 10%, transparent); }
tr.gated td { color: var(--muted); }
.badge { display: inline-block; font-size: .7rem; font-weight: 600; padding: 0 .4rem;
  border-radius: 1rem; background: var(--ok); color: var(--bg); vertical-align: middle; }
.gate { display: block; color: var(--bad); }
.interval { font-size: .75em; color: var(--muted); }
.state { display: inline-block; font-size: .7rem; font-weight: 600; padding: 0 .4rem;
  border-radius: 1rem; border: 1px solid currentColor; vertical-align: middle; }
.state-down, .state-throttled { color: var(--bad); }
.state-degraded, .state-unknown, .tie { color: var(--muted); }
.ok { color: var(--ok); }
.bad { color: var(--bad); font-weight: 600; }
.none { color: var(--muted); font-style: italic; }
@media (max-width: 40rem) {
  body { font-size: 14px; }
  header, main { padding: 0 .5rem; }
  section { padding: .25rem .5rem .75rem; }
  th, td { padding: .3rem .35rem; }
  td.cand { white-space: normal; overflow-wrap: anywhere; }
  /* The ranking as cards: rank, candidate and composite on a line, the reasons below. */
  table.ranking thead { display: none; }
  table.ranking tr { display: grid; grid-template-columns: 1.5rem 1fr auto;
    border-bottom: 1px solid var(--line); }
  table.ranking td { border-bottom: 0; }
  table.ranking td:nth-child(4) { grid-column: 2 / -1; padding-top: 0; font-size: .9em; }
}
"""
