"""The typed request and response models of each revision.

    from klaviyo_campaigns.models.pre import Campaign, CampaignMessage, CampaignVariation
    from klaviyo_campaigns.models.stable import Campaign, CampaignMessage, Tag

A response resource's class is named after its JSON:API type (``campaign-message`` ->
``CampaignMessage``), the same class whichever operation returned it; a document after what it
holds (``CampaignDocument``, ``CampaignListDocument``, ``TagIdentifierListDocument``); the
values of ``fields[...]``, ``include`` and ``sort`` are ``CampaignField``, ``CampaignInclude``,
``CampaignSort``, ...; request values are ``...Param`` ``TypedDict``s
(``EmailChannelDetailsParam``), request bodies ``...Query`` (``CampaignCreateQuery``).

Each module is the generated ``models`` package of its revision, imported on first use.
"""
