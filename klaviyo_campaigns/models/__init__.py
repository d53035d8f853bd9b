"""The typed request and response models of each revision.

    from klaviyo_campaigns.models.pre import CampaignCreateQuery      # REVISIONS.pre
    from klaviyo_campaigns.models.stable import CampaignCreateQuery   # REVISIONS.stable

Each module is the generated ``models`` package of its revision, imported on first use.
"""
