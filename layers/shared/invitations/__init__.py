"""The patient-invitation domain: rules, storage, delivery and HTTP glue shared by all functions."""
