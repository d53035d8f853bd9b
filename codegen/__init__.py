"""The generator: Klaviyo's published spec + overlays -> ``klaviyo_campaigns/_generated``.

Run it as ``python -m codegen generate`` (``make generate``) or ``python -m codegen check``
(``make check-generated``). Nothing in here is imported by the SDK at runtime.
"""
