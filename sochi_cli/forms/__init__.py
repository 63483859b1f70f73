"""Form catalogue cache and local validation of report files before signing."""
