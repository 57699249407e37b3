"""Cost Explorer spend: settings, requests, daily series, summaries and spikes.

The collector itself lives in :mod:`collectors.sources.cost`; these modules
hold the parts that do not depend on the collector interface, so each can
be read and tested alone.
"""
