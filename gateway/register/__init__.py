"""The central register (openIMIS, a DCI registry, or the gateway itself) and the health
facilities that check cover: the event outbox and its sync, facility keys and phones,
eligibility by REST, FHIR, USSD and SMS."""
