"""Voice: the same journeys by phone call (Africa's Talking Voice), spoken and keyed."""
