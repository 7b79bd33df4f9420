"""USSD aggregators: how a hop arrives and how the text typed so far is read."""
