"""Suite-wide fixtures: the fake Klaviyo plugin (``fake_klaviyo``, ``fake_klaviyo_url``)."""

pytest_plugins = ["klaviyo_campaigns.testing.pytest_plugin"]
