"""Helpers of the Datadog collector: settings, the API session, response parsing.

The collector itself lives in :mod:`collectors.sources.datadog`; these modules
keep it short and hold the parts a test or the demo server may reuse (site
names, the default metric queries).
"""
