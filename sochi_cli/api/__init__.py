"""Operator API client: transport, typed models, problem errors mapped to exceptions."""
