"""The operational store: marketplace history tables, their schemas and the database engine."""
