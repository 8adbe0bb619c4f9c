"""InCTRL model exporter: builds the bundle (docs/bundle-format.md) and reference fixtures for InCTRL serve."""
__version__ = "0.1.0"
