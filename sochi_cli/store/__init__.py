"""Local state: configuration and profiles, the SQLite journal, the content-addressed archive."""
