"""Every part of the store declares its tables on the one ``Base``; import them all here so
``Base.metadata`` describes everything the migrations build (each part migrates on its own
branch, see ``migrations.upgrade``)."""

import api.console.tables  # noqa: F401  - console sessions (migration 0008_console_sessions)
import api.kit.tables  # noqa: F401  - API keys and idempotency records (migration 0004_api_access)
