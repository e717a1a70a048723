"""The benchmark harness of mxproxy: `python -m bench` (what `./dev bench` runs).

It starts the MX simulator and the proxy as separate processes on loopback ports, drives them
with a load generator (wrk, or a Python fallback), and reports every figure the project quotes:
a table and one `RESULT name=… key=value …` line per scenario. One module per scenario lives in
`bench.scenarios`; the shared helpers are `procs` (processes), `httpclient` (a small HTTP/1.1
client), `load` (wrk and the fallback), `logins`, `push`, `stats` and `report`.
"""
