from tests.api.marketplace import market_app, market_client, market_keys, marketplace  # noqa: F401
