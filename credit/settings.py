"""Settings read from the environment (prefix ``CREDIT_``), built where they are used."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the service keeps its state.

    Attributes
    ----------
    database_url
        SQLAlchemy URL of the operational store. Default: an SQLite file ``var/credit.db``
        under the working directory. For PostgreSQL:
        ``postgresql+psycopg://user@host:5432/dbname``.
    """

    model_config = SettingsConfigDict(env_prefix="CREDIT_", extra="ignore")

    database_url: str = ""

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path.cwd() / 'var' / 'credit.db').resolve()}"
