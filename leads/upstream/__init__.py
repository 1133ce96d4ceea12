"""The parts of the MoltFlow client, one job a module; `leads.client.MoltflowClient` joins them.

- `transport`: the process's pooled `httpx.Client`, its timeouts, and the clock it reads.
- `retry`: when a failed call is repeated, and after how long (pure: `RetryPolicy`).
- `budget`: the plan's rate budget and the upstream's health, shared by every process.
- `reads`: the short shared read cache (one upstream call per read, last good answers).
- `errors`: the one place HTTP and transport failures become `leads.sources.errors`.
- `shared`: the shared cache, degraded to "nothing cached" while it cannot be reached.
"""
