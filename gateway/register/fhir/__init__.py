"""Our FHIR R4 server (/fhir): eligibility for health facilities, the CapabilityStatement,
our extensions' definitions, content negotiation, OperationOutcomes (docs/integrations/fhir.md)."""
