"""Operator API client: transport, typed models, problem errors mapped to exceptions.

    from sochi_cli.api import resources as R
    from sochi_cli.services.session import open_client      # profile + stored session
    with open_client(config) as client:
        account = client.call(R.account.get())
        for c in client.iterate(R.clients.list(status="active")): ...

`AsyncOperatorClient` (same calls, `await client.call(...)`) serves the batch engine.
"""
