"""sochi — terminal client for СОчИ, the Kyrgyz Internet reporting system."""

__version__ = "0.1.0"
__all__ = ["__version__"]
