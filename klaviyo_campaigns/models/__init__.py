"""The typed request and response models of each revision.

    from klaviyo_campaigns.models.pre import CampaignCreateQuery      # 2026-04-15.pre
    from klaviyo_campaigns.models.stable import CampaignCreateQuery   # 2026-04-15

Each module is the generated ``models`` package of its revision, imported on first use.
"""
