"""Signed webhooks: PBX events POSTed to the `[[webhooks]]` endpoints of the configuration.

`settings` parses the tables, `signing` signs and verifies, `policy` decides retries,
`outcomes` keeps the recent results, `dispatcher` queues, persists and sends.
"""
